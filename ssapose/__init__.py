"""SSA-Pose: OpenPose-style bottom-up pose estimation with the paper's
resolution-irrelevant encoding (block-inside offsets) and SSA losses.

Data flow: frame -> preprocess -> network -> ``decode`` -> ``Poses``;
annotations -> ``targets`` -> losses. Neither Qt nor TensorRT is imported here.
"""
__version__ = "0.1.0"
