"""Oracle evaluation: encode each image's ground truth, decode it, score it.

It measures the best AP the encoding and decoding can reach, with no network.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ssapose.coco import evaluate, image_people, load_coco
from ssapose.decode import DecoderConfig, decode
from ssapose.targets import TargetConfig, encode_targets


@dataclass(frozen=True)
class OracleResult:
    stats: dict
    results: list
    n_images: int


def oracle_eval(ann_file: str, target_config: TargetConfig, decoder_config: DecoderConfig,
                use_offsets: bool = True, progress: bool = False) -> OracleResult:
    """Encode -> decode -> COCOeval on every image of ``ann_file`` (images are not read).

    ``use_offsets`` decodes with the encoded block-inside offsets; otherwise the
    heatmaps are upsampled (the two refinements the paper compares).
    """
    decoder_config = replace(decoder_config, refine="offsets" if use_offsets else "upsample")
    coco = load_coco(ann_file)
    ids = sorted(coco.getImgIds())
    results: list[dict] = []
    it = ids
    if progress:
        from tqdm import tqdm
        it = tqdm(ids, desc="oracle", unit="img")
    for image_id in it:
        info = coco.imgs[image_id]
        people = image_people(coco, image_id, with_ignore=False)
        t = encode_targets(people.parts, int(info["width"]), int(info["height"]), target_config)
        poses = decode(t.heatmaps, t.pafs, target_config.stride, t.offsets,
                       decoder_config, image_height=info["height"])
        results.extend(poses.to_coco_results(image_id))
    return OracleResult(evaluate(coco, results, ids), results, len(ids))
