#!/usr/bin/env python3
"""Reference HU of a JPEG 2000 DICOM series, independent of the node's DICOM and JPEG 2000 code.

    scripts/j2k_reference_hu.py ../shared/data/totalsegmentator_ct/example_ct_dicom

Walks each file's explicit-VR little-endian dataset by hand (no DICOM library), concatenates the
encapsulated pixel data fragments after the Basic Offset Table (single-frame files), decodes the
codestream with `opj_decompress` (Debian libopenjp2-tools, not installed by install-deps.sh: the
tests only carry the numbers this prints) and applies HU = stored x RescaleSlope +
RescaleIntercept. Prints per-slice min/max/sum (slices sorted by ImagePositionPatient z), the
volume's min/max/sum and a 64-bit FNV-1a of the HU as little-endian int16 in volume order.
Used once for node/imaging/dicom_real_samples_test.cc; public data only.
"""
import os, struct, subprocess, sys, tempfile

LONG_VRS = {b'OB', b'OW', b'OF', b'SQ', b'UT', b'UN', b'OD', b'OL', b'OV', b'UC', b'UR'}


def walk(b):
    """Elements before PixelData as {(group, element): bytes}, plus 'fragments'."""
    assert b[128:132] == b'DICM', 'no DICM magic'
    out, pos = {}, 132
    while pos < len(b):
        grp, elt = struct.unpack_from('<HH', b, pos)
        vr = b[pos + 4:pos + 6]
        if vr in LONG_VRS:
            length, header = struct.unpack_from('<I', b, pos + 8)[0], 12
        else:
            length, header = struct.unpack_from('<H', b, pos + 6)[0], 8
        if (grp, elt) == (0x7FE0, 0x0010):
            p, fragments = pos + header, []
            while True:
                g, e, n = struct.unpack_from('<HHI', b, p)
                p += 8
                if (g, e) == (0xFFFE, 0xE0DD):
                    out['fragments'] = fragments[1:]  # after the Basic Offset Table
                    return out
                fragments.append(b[p:p + n])
                p += n
        assert length != 0xFFFFFFFF, 'undefined length before PixelData'
        out[(grp, elt)] = b[pos + header:pos + header + length]
        pos += header + length
    raise SystemExit('no PixelData')


def text(d, tag):
    return d[tag].decode('latin1').strip('\0 ')


def decode(codestream, tmp):
    src, dst = os.path.join(tmp, 's.j2k'), os.path.join(tmp, 's.pgm')
    open(src, 'wb').write(codestream)
    subprocess.run(['opj_decompress', '-i', src, '-o', dst, '-quiet'], check=True,
                   stdout=subprocess.DEVNULL)
    magic, comment, size, maxval, data = open(dst, 'rb').read().split(b'\n', 4)
    assert magic == b'P5' and comment.startswith(b'#')
    w, h = map(int, size.split())
    fmt = '>%dH' % (w * h) if int(maxval) > 255 else '>%dB' % (w * h)
    return struct.unpack_from(fmt, data)


def main(folder):
    slices = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(folder)):
            d = walk(open(os.path.join(folder, name), 'rb').read())
            assert text(d, (0x0002, 0x0010)).startswith('1.2.840.10008.1.2.4.9')
            z = float(text(d, (0x0020, 0x0032)).split('\\')[2])
            slope = float(text(d, (0x0028, 0x1053)))
            intercept = float(text(d, (0x0028, 0x1052)))
            stored = decode(b''.join(d['fragments']), tmp)
            slices.append((z, [int(round(v * slope + intercept)) for v in stored]))
    slices.sort()
    volume, fnv = [], 0xcbf29ce484222325
    for z, hu in slices:
        print('z=%.3f min=%d max=%d sum=%d' % (z, min(hu), max(hu), sum(hu)))
        volume += hu
    for v in volume:
        for byte in struct.pack('<h', v):
            fnv = ((fnv ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    print('voxels %d min %d max %d sum %d fnv1a64 0x%016x' %
          (len(volume), min(volume), max(volume), sum(volume), fnv))


if __name__ == '__main__':
    main(sys.argv[1])
