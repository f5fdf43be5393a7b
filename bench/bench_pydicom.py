#!/usr/bin/env python3
"""Decodes one CT series to HU with pydicom + numpy, the way a Python pipeline would.

Usage: bench_pydicom.py DICOM_DIR [--repeat N]

Reads every file under DICOM_DIR, keeps CT images that are not localizers, takes the largest
series, sorts it along the slice normal, and converts each slice to int16 HU with
RescaleSlope/Intercept. Prints one JSON line: slices, seconds (best of N after one warm-up
run), and the HU sum to check that both decoders agree. Uses Debian's python3-pydicom and
python3-numpy (run with /usr/bin/python3).
"""
import argparse
import json
import os
import time

import numpy as np
import pydicom


def decode(folder):
    series = {}
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                ds = pydicom.dcmread(os.path.join(root, name))
            except Exception:  # not DICOM
                continue
            if ds.get("Modality", "CT") != "CT" or "LOCALIZER" in list(ds.get("ImageType", [])):
                continue
            series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    slices = max(series.values(), key=len)
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, float))))
    first = slices[0]
    volume = np.empty((len(slices), first.Rows, first.Columns), dtype=np.int16)
    for k, ds in enumerate(slices):
        hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        volume[k] = np.clip(np.rint(hu), -32768, 32767).astype(np.int16)
    return volume


def evict(folder):
    """Drops the folder's files from the page cache (as bench_dicom_decode --cold does)."""
    for root, _, names in os.walk(folder):
        for name in names:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true",
                        help="evict the files from the page cache before every run, no warm-up")
    args = parser.parse_args()
    if not args.cold:
        volume = decode(args.folder)  # warm-up
    best = float("inf")
    for _ in range(args.repeat):
        if args.cold:
            evict(args.folder)
        start = time.perf_counter()
        volume = decode(args.folder)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"slices": int(volume.shape[0]), "seconds": best,
                      "hu_sum": int(volume.astype(np.int64).sum()),
                      "pydicom": pydicom.__version__, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
