"""Exact values against independent computations, where a one-line change used to pass every test:
the One-Euro step, OKS, the letterbox of a folder's odd-sized image, the read report and the redaction."""
import math

import numpy as np
import pytest

from ssapose.coco import oks_matrix
from ssapose.tracking import OneEuro, one_euro_step
from engines.sinks.video import _letterbox
from ssapose.redact import has_secret, redact, without_password
from ssapose.skeleton import COCO_SIGMAS
from ssapose.sources import END_OF_INPUT, ReadReport


def test_one_euro_step_by_hand():
    """Casiez et al. 2012: alpha(fc) = 1 / (1 + tau / dt), tau = 1 / (2 pi fc); fc = min_cutoff + beta |dx|."""
    x_prev, dx_prev, x, dt, fc_min, beta = 10.0, 2.0, 13.0, 0.1, 1.0, 0.5
    alpha = lambda fc: 1.0 / (1.0 + (1.0 / (2 * math.pi * fc)) / dt)          # noqa: E731
    dx = dx_prev + alpha(1.0) * ((x - x_prev) / dt - dx_prev)
    want = x_prev + alpha(fc_min + beta * abs(dx)) * (x - x_prev)
    got, got_dx = one_euro_step(np.array(x_prev), np.array(dx_prev), dt, np.array(x), fc_min, beta)
    assert float(got) == pytest.approx(want, rel=1e-12) and float(got_dx) == pytest.approx(dx, rel=1e-12)
    f = OneEuro(min_cutoff=fc_min, beta=beta)
    f(np.array([x_prev]), 0.0)
    f.dx = np.array([dx_prev])
    assert float(f(np.array([x]), dt)[0]) == pytest.approx(want, rel=1e-12)


def test_oks_by_hand():
    """COCO's OKS: mean over keypoints seen in both of exp(-d^2 / (2 s^2 k^2)), k = 2 sigma, s^2 the area."""
    a = np.zeros((1, 17, 3))
    a[0, :, 0] = np.linspace(0, 40, 17)
    a[0, :, 1] = np.linspace(0, 100, 17)
    a[0, :, 2] = 1
    b = a.copy()
    b[0, :, 0] += 3.0
    b[0, 5, 2] = 0                                        # one keypoint missing in b: it counts as 0
    area = 40 * 100
    k2 = (2 * COCO_SIGMAS) ** 2
    e = np.exp(-9.0 / (2 * area * k2))
    e[5] = 0
    assert oks_matrix(a, b)[0, 0] == pytest.approx(e.sum() / 17, rel=1e-12)
    # with an annotated area instead of the keypoint box (how COCOeval scores a person)
    e2 = np.exp(-9.0 / (2 * 2500.0 * k2))
    e2[5] = 0
    assert oks_matrix(a, b, np.array([2500.0]))[0, 0] == pytest.approx(e2.sum() / 17, rel=1e-12)


def test_letterbox_keeps_the_aspect_and_centres():
    img = np.full((100, 50, 3), 255, np.uint8)          # tall image into a wide video
    out = _letterbox(img, (200, 100))
    assert out.shape == (100, 200, 3)
    cols = np.flatnonzero(out[50, :, 0] > 0)
    assert cols[0] == 75 and cols[-1] == 124              # 50 px wide, centred in 200
    assert (out[:, :75] == 0).all()


def test_read_report_wording():
    r = ReadReport(read=90, expected=100, skipped=10, stopped=END_OF_INPUT)
    r.note("frames 40-49 damaged")
    assert r.describe() == "read 90 of 100 frames, skipped 10 (frames 40-49 damaged); stopped: end of input"
    assert not r.early and ReadReport(stopped="camera lost").early


@pytest.mark.parametrize("url,shown,kept", [
    ("rtsp://u:p@h/s", "rtsp://***@h/s", "rtsp://u@h/s"),
    ("rtsp://u@h/s", "rtsp://***@h/s", "rtsp://u@h/s"),
    ("http://h/x?token=abc&n=1", "http://h/x?token=***&n=1", "http://h/x?token=&n=1"),
    ("http://h/x?tokens=1", "http://h/x?tokens=1", "http://h/x?tokens=1"),
    ("rtsp://h/s@2", "rtsp://h/s@2", "rtsp://h/s@2"),            # an @ in the path is no user
    ("/videos/a@b.mp4", "/videos/a@b.mp4", "/videos/a@b.mp4"),
])
def test_redaction_cases(url, shown, kept):
    assert redact(url) == shown and without_password(url) == kept
    assert has_secret(url) == (kept != url)
