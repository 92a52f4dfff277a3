#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (the directory is not
committed; scripts/fuzz runs this first). The seeds are small, valid inputs of each kind, so that
the fuzzer starts inside the formats instead of guessing their magic numbers: TIFF (uncompressed,
deflate with predictor, PackBits, CCITT G4, palette, multi-page, big-endian), PNG (every colour
type, pHYs), JPEG (baseline and progressive, rendered by poppler's pdftoppm when it is installed),
PDF (Flate, JPEG, CCITT and indexed scan images, a text page), QR payload codewords and
Reed-Solomon blocks, routing payloads signed with the fuzz target's keys, and Aktenzeichen.

Only the standard library is used, so the corpus can be made on any machine with Python 3.
"""

import base64
import hashlib
import hmac
import os
import struct
import subprocess
import sys
import tempfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    directory = os.path.join(OUT, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


# ---- TIFF ----------------------------------------------------------------------------------------

def tiff(pages, big_endian=False):
    """pages: list of (tags, strips) with tags a list of (tag, type, values); strips are byte strings
    placed after the header and referenced by StripOffsets/StripByteCounts (added here)."""
    e = ">" if big_endian else "<"
    out = bytearray((b"MM\0*" if big_endian else b"II*\0") + b"\0\0\0\0")
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}
    codes = {1: "B", 2: "B", 3: "H", 4: "I"}
    ifd_offsets = []
    for tags, strips in pages:
        offsets = []
        for strip in strips:
            offsets.append(len(out))
            out += strip
            if len(out) % 2:
                out += b"\0"
        tags = tags + [(273, 4, offsets), (279, 4, [len(s) for s in strips])]
        tags.sort(key=lambda t: t[0])
        # Values that do not fit the 4-byte field go before the directory.
        fields = []
        for tag, kind, values in tags:
            if kind == 5:
                raw = b"".join(struct.pack(e + "II", n, d) for n, d in values)
            else:
                raw = b"".join(struct.pack(e + codes[kind], v) for v in values)
            if len(raw) <= 4:
                fields.append((tag, kind, len(values), raw.ljust(4, b"\0")))
            else:
                fields.append((tag, kind, len(values), struct.pack(e + "I", len(out))))
                out += raw
                if len(out) % 2:
                    out += b"\0"
        ifd_offsets.append(len(out))
        out += struct.pack(e + "H", len(fields))
        for tag, kind, count, field in fields:
            out += struct.pack(e + "HHI", tag, kind, count) + field
        out += b"\0\0\0\0"
    struct.pack_into(e + "I", out, 4, ifd_offsets[0])
    for i in range(len(ifd_offsets) - 1):
        # The next-directory field is the last 4 bytes of each directory.
        count = struct.unpack_from(e + "H", out, ifd_offsets[i])[0]
        struct.pack_into(e + "I", out, ifd_offsets[i] + 2 + 12 * count, ifd_offsets[i + 1])
    return bytes(out)


def size_tags(width, height, bits, samples, compression, photometric, rows=None):
    tags = [(256, 3, [width]), (257, 3, [height]), (258, 3, [bits] * samples), (259, 3, [compression]),
            (262, 3, [photometric]), (277, 3, [samples]), (278, 3, [rows or height]),
            (282, 5, [(300, 1)]), (283, 5, [(300, 1)]), (296, 3, [2])]
    return tags


def g4_white(width, rows):
    """CCITT G4 for all-white rows: each row is one V0 code (a single 1 bit), then EOFB."""
    bits = "1" * rows + "000000000001000000000001"
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def packbits(data):
    out = bytearray()
    for i in range(0, len(data), 128):
        chunk = data[i:i + 128]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out)


def tiff_seeds():
    gray = bytes((x * 16 + y) % 256 for y in range(16) for x in range(16))
    write("decode_tiff", "gray-none-le", tiff([(size_tags(16, 16, 8, 1, 1, 1), [gray])]))
    rgb = bytes((x * 30 + c * 80) % 256 for y in range(8) for x in range(8) for c in range(3))
    predicted = bytearray()
    for y in range(8):
        row = rgb[y * 24:(y + 1) * 24]
        predicted += bytes(row[:3]) + bytes((row[i] - row[i - 3]) % 256 for i in range(3, 24))
    tags = size_tags(8, 8, 8, 3, 8, 2) + [(317, 3, [2])]
    write("decode_tiff", "rgb-deflate-predictor-be", tiff([(tags, [zlib.compress(bytes(predicted))])], True))
    bilevel = bytes([0b10101010, 0b01010101] * 16)
    tags = size_tags(16, 16, 1, 1, 32773, 0)
    write("decode_tiff", "bilevel-packbits", tiff([(tags, [packbits(bilevel)])]))
    g4 = [(size_tags(32, 8, 1, 1, 4, 0), [g4_white(32, 8)])]
    two_strips = [(size_tags(32, 8, 1, 1, 4, 0, rows=4), [g4_white(32, 4), g4_white(32, 4)])]
    write("decode_tiff", "g4-two-pages", tiff(g4 + two_strips))
    palette = bytes(((x + y) % 16) << 4 | ((x + y + 1) % 16) for y in range(8) for x in range(4))
    colour_map = [i * 4096 for i in range(16)] + [(15 - i) * 4096 for i in range(16)] + [0] * 16
    tags = size_tags(8, 8, 4, 1, 1, 3) + [(320, 3, colour_map)]
    write("decode_tiff", "palette-4bit", tiff([(tags, [palette])]))
    # A thumbnail (NewSubfileType 1) before the page, and RGBA with associated alpha.
    rgba = bytes(v for _ in range(16) for v in (200, 100, 50, 128))
    thumb = [(size_tags(4, 4, 8, 4, 1, 2) + [(254, 4, [1]), (338, 3, [1])], [rgba])]
    write("decode_tiff", "thumbnail-and-rgba", tiff(thumb + [(size_tags(4, 4, 8, 4, 1, 2) + [(338, 3, [2])], [rgba])]))


# ---- PNG -----------------------------------------------------------------------------------------

def png(width, height, bit_depth, color_type, rows, extra=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_seeds():
    phys = png_chunk(b"pHYs", struct.pack(">IIB", 11811, 11811, 1))
    write("decode_png", "bilevel-phys", png(16, 4, 1, 0, [b"\xa5\x5a"] * 4, phys))
    write("decode_png", "gray8", png(8, 8, 8, 0, [bytes(range(y * 8, y * 8 + 8)) for y in range(8)]))
    write("decode_png", "rgb8", png(4, 4, 8, 2, [bytes(range(12))] * 4))
    plte = png_chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255]))
    trns = png_chunk(b"tRNS", bytes([255, 128]))
    write("decode_png", "palette-trns", png(8, 2, 2, 3, [b"\x1b\xe4"] * 2, plte + trns))
    write("decode_png", "gray-alpha16", png(2, 2, 16, 4, [bytes(range(8))] * 2))
    write("decode_png", "rgba8", png(2, 2, 8, 6, [bytes(range(8))] * 2))


# ---- PDF -----------------------------------------------------------------------------------------

def pdf(objects):
    """objects: list of bytes, object i + 1; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(dictionary, data):
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def image_page(image_dict, image_data, content=b"q 72 0 0 72 0 0 cm /Im0 Do Q"):
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Resources << /XObject << /Im0 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        stream(b"/Type /XObject /Subtype /Image " + image_dict, image_data),
        stream(b"", content),
    ])


def text_page():
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 72 72] >>",
        b"<< /Type /Page /Parent 2 0 R /Rotate 90 /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(b"", b"BT /F1 40 Tf 10 20 Td (A) Tj ET"),
    ])


def jpeg_seeds():
    """Baseline and progressive JPEGs of a tiny text page, rendered by pdftoppm; none without it."""
    jpegs = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "page.pdf")
        with open(source, "wb") as f:
            f.write(text_page())
        for name, options in [("baseline", []), ("progressive", ["-jpegopt", "progressive=y"])]:
            for gray in (False, True):
                args = ["pdftoppm", "-r", "24", "-jpeg"] + options + (["-gray"] if gray else [])
                try:
                    subprocess.run(args + [source, os.path.join(tmp, "out")], check=True)
                except (OSError, subprocess.CalledProcessError):
                    print("pdftoppm is missing: no JPEG seeds", file=sys.stderr)
                    return jpegs
                [produced] = [p for p in os.listdir(tmp) if p.startswith("out")]
                with open(os.path.join(tmp, produced), "rb") as f:
                    jpegs[name + ("-gray" if gray else "-rgb")] = f.read()
                os.remove(os.path.join(tmp, produced))
    for name, data in jpegs.items():
        write("decode_jpeg", name, data)
    return jpegs


def pdf_seeds(jpegs):
    gray = bytes((x * 16) % 256 for y in range(16) for x in range(16))
    write("decode_pdf", "flate-gray", image_page(
        b"/Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        zlib.compress(gray)))
    predicted = b"".join(b"\x02" + bytes(16) for _ in range(16))
    write("decode_pdf", "flate-png-predictor-rgb", image_page(
        b"/Width 16 /Height 16 /ColorSpace /DeviceRGB /BitsPerComponent 1 /Filter /FlateDecode"
        b" /DecodeParms << /Predictor 15 /Colors 3 /Columns 16 /BitsPerComponent 1 >>",
        zlib.compress(predicted[:16 * 7])))
    write("decode_pdf", "ccitt-g4", image_page(
        b"/Width 32 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode"
        b" /DecodeParms << /K -1 /Columns 32 /BlackIs1 false >> /Decode [1 0]",
        g4_white(32, 8)))
    write("decode_pdf", "indexed-runlength-mask", image_page(
        b"/Width 8 /Height 2 /ColorSpace [/Indexed /DeviceRGB 1 <000000ff0000>] /BitsPerComponent 1"
        b" /Filter /RunLengthDecode",
        b"\x01\xa5\x5a\x80"))
    write("decode_pdf", "imagemask", image_page(
        b"/Width 8 /Height 8 /ImageMask true", bytes([0x81] * 8)))
    write("decode_pdf", "text-rotated", text_page())
    if "baseline-rgb" in jpegs:
        data = jpegs["baseline-rgb"]
        at = data.index(b"\xff\xc0")
        height, width, components = struct.unpack_from(">HHB", data, at + 5)
        space = b"/DeviceGray" if components == 1 else b"/DeviceRGB"
        write("decode_pdf", "dct", image_page(
            b"/Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode" % (width, height, space),
            data))


# ---- QR payloads ---------------------------------------------------------------------------------

def bits_to_bytes(bits):
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


GF_EXP, GF_LOG = [0] * 512, [0] * 256
x = 1
for i in range(255):
    GF_EXP[i] = GF_EXP[i + 255] = x
    GF_LOG[x] = i
    x <<= 1
    if x & 0x100:
        x ^= 0x11D


def gf_mul(a, b):
    return 0 if a == 0 or b == 0 else GF_EXP[GF_LOG[a] + GF_LOG[b]]


def rs_block(data, ecc):
    """Data codewords followed by `ecc` Reed-Solomon codewords (generator with roots 2^0..2^(ecc-1))."""
    generator = [1]
    for i in range(ecc):
        nxt = [0] * (len(generator) + 1)
        for j, c in enumerate(generator):
            nxt[j] ^= c
            nxt[j + 1] ^= gf_mul(c, GF_EXP[i])
        generator = nxt
    remainder = list(data) + [0] * ecc
    for i in range(len(data)):
        factor = remainder[i]
        if factor:
            for j, c in enumerate(generator):
                remainder[i + j] ^= gf_mul(c, factor)
    return bytes(data) + bytes(remainder[len(data):])


def qr_seeds():
    def byte_mode(text):
        data = text.encode()
        return "0100" + format(len(data), "08b") + "".join(format(b, "08b") for b in data)
    alnum = "0010" + format(5, "09b") + format(10 * 45 + 11, "011b") + format(12 * 45 + 13, "011b") + format(14, "06b")
    numeric = "0001" + format(4, "010b") + format(123, "010b") + format(4, "04b")
    eci = "0111" + format(26, "08b")
    structured = "0011" + format(0x12, "08b") + format(0xAB, "08b")
    fnc1 = "0101"
    kanji = "1000" + format(1, "08b") + format(0x0D9F, "013b")
    hanzi = "1101" + "0001" + format(1, "08b") + format(0x03C1, "013b")
    payloads = {
        "byte-routing-code": byte_mode("RG1:B:4711:32.10.05-123/2024:AAAAAAAAAAAAAAAA") + "0000",
        "alnum-numeric": alnum + numeric + "0000",
        "eci-utf8-structured": structured + eci + byte_mode("Grüße") + "0000",
        "gs1-kanji-hanzi": fnc1 + alnum + kanji + hanzi + "0000",
    }
    for name, bits in payloads.items():
        write("qr_payload", "parse-" + name, b"\x00" + bits_to_bytes(bits))
    block = rs_block(bits_to_bytes(payloads["alnum-numeric"]).ljust(16, b"\xec"), 10)
    write("qr_payload", "rs-clean", b"\x01\x0a" + block)
    damaged = bytearray(block)
    damaged[3] ^= 0x5A
    damaged[20] ^= 0xFF
    write("qr_payload", "rs-two-errors", b"\x01\x0a" + bytes(damaged))
    # A version-1 grid of alternating modules; few such grids pass the format check, so the fuzzer
    # gets one structurally plausible start.
    write("qr_payload", "grid-v1", b"\x02" + bytes([0x55, 0xAA] * 28))


# ---- Routing payloads and Aktenzeichen -------------------------------------------------------------

def routing_code(key_id, secret, akte_id, aktenzeichen):
    signed = "RG1:%s:%d:%s" % (key_id, akte_id, aktenzeichen)
    tag = hmac.new(secret, signed.encode(), hashlib.sha256).digest()[:10]
    return signed + ":" + base64.b32encode(tag).decode().rstrip("=")


def route_seeds():
    current = routing_code("B", bytes([7] * 32), 4711, "32.10.05-123/2024")
    older = routing_code("A", bytes([3] * 32), 4712, "32.10.05-124/2024")
    letter = "Stadt Musterhausen\nIhr Zeichen: 32.10.05 - 123 / 2O24\nAz.: 1-1/1900\n"
    write("route_payload", "codes-and-text", letter + "\x01" + current + "\x01" + older)
    write("route_payload", "plain-and-girocode",
          "\x01AZ:32.10.05-124/2024\x01BCD\n002\n1\nSCT\n\nStadtkasse\nDE02120300000000202051\nEUR12.50")
    write("route_payload", "forged-and-future", "\x01" + current[:-1] + "A\x01RG2:B:1:x:y\x01 " + older + "\n")
    write("route_payload", "issue-pair", "Geschäftszeichen 1-1/1900\x014711\x0132.10.05-123/2024")
    write("route_payload", "text-only", "Unser Az: 32.1O.O5-l23/2024, Aktenzeichen 32.10.05-124/2024")


def aktenzeichen_seeds():
    write("aktenzeichen", "default", "{key}-{nr}/{year}\n32.10.05-123/2024")
    write("aktenzeichen", "custom", "AZ {key}/{nr}-{year}\nAZ 32.10/5-1999")
    write("aktenzeichen", "year-first", "{year}: {nr} ({key})\n2024: 17 (01.2)")
    write("aktenzeichen", "ocr-text", "\nIhr Zeichen: 32.1O.05 - 123 / 2024\nGz. 7-99999999/2999")
    write("aktenzeichen", "bad-template", "{key}{nr}/{year}\n1.2.3.4.5.6.7.8-1/1900")


tiff_seeds()
png_seeds()
pdf_seeds(jpeg_seeds())
qr_seeds()
route_seeds()
aktenzeichen_seeds()
