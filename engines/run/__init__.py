"""The one run loop under every entry point (``ssapose video``, ``batch``, the app, ``Estimator.stream``).

``session.open_run`` assembles a run: its source, its model, the threaded ``pipeline`` (capture -> preprocess ->
inference -> decode -> tracking and overlay) and its outputs (``engines.sinks``); ``step.FrameStep`` is what the
pipeline does to one frame, and what a single image runs whole; ``types.FrameResult`` is what comes out per frame.
"""
