"""Media type sniffing from bytes, and the limits every decoder works under.

The type of a file is what its first bytes say, never its extension: a PNG named
``.jpg`` is a PNG, and a report says so. Only formats that both this toolkit and
c2pa-rs handle get a media type; everything else is ``None`` (unsupported).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import warnings
from pathlib import Path
from struct import error as struct_error

from provenance.errors import InputError, UnsupportedMedia

IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/jxl",
        "image/svg+xml",
    }
)
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
AUDIO_TYPES = frozenset({"audio/wav", "audio/mpeg", "audio/flac", "audio/mp4"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/x-msvideo"})

# ISO-BMFF brands of still images: any of them, major or compatible, makes a still.
_FTYP_BRANDS = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
}
# Brands of timed media, decided by the major brand (else the first compatible one that
# is known): an MP4 lists "isom" or "mp41" among its compatible brands, an M4A too.
_FTYP_AV_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"F4A ": "audio/mp4",
    b"M4V ": "video/mp4",
    b"M4VH": "video/mp4",
    b"M4VP": "video/mp4",
    b"F4V ": "video/mp4",
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"iso3": "video/mp4",
    b"iso4": "video/mp4",
    b"iso5": "video/mp4",
    b"iso6": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"dash": "video/mp4",
    b"3gp4": "video/mp4",
    b"3gp5": "video/mp4",
    b"3gp6": "video/mp4",
    b"mmp4": "video/mp4",
}
# MPEG audio frame header: sampling-rate index 3 and bitrate index 15 are invalid.
_MPEG_LAYERS = frozenset({1, 2, 3})  # the two layer bits: 00 is reserved

_EXTENSIONS = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "image/gif": {".gif"},
    "image/tiff": {".tif", ".tiff"},
    "image/avif": {".avif"},
    "image/heic": {".heic", ".heif"},
    "image/heif": {".heif", ".heic"},
    "image/jxl": {".jxl"},
    "image/svg+xml": {".svg"},
    "audio/wav": {".wav", ".wave"},
    "audio/mpeg": {".mp3", ".mpga"},
    "audio/flac": {".flac"},
    "audio/mp4": {".m4a", ".m4b", ".mp4"},
    "video/mp4": {".mp4", ".m4v", ".m4a", ".mov"},
    "video/quicktime": {".mov", ".qt"},
    "video/x-msvideo": {".avi"},
    "text/plain": {".txt", ".text", ""},
    "text/markdown": {".md", ".markdown"},
}


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for reading untrusted files.

    The defaults let through real photographs (Pillow's own safety limit, about
    89 MP, e.g. 11600 x 7700) while refusing decompression bombs before a decoder
    allocates memory for them.

    Size limits are per kind (docs/design.md, "Reading"): images and text are read whole
    (``max_file_bytes``); audio and video are read as streams, never whole, up to
    ``max_stream_bytes``.
    """

    max_file_bytes: int = 512 * 1024 * 1024
    # A 4K film of two hours is about 20 GB; what c2pa-rs holds while it hashes one does not
    # grow with it (docs/benchmarks.md, "Audio and video").
    max_stream_bytes: int = 64 * 1024 * 1024 * 1024
    # The top-level boxes or chunks of one audio or video file that are walked (a real
    # file has tens; a chunk bomb has tens of thousands).
    max_container_entries: int = 10_000
    max_pixels: int = 89_478_485
    # Text is decoded, normalised and scanned whole (several copies in memory): 32 MiB is
    # far beyond any document (a long novel is about 1 MB) and still checks in about 2 s.
    max_text_bytes: int = 32 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        if self.max_pixels <= 0:
            raise ValueError("max_pixels must be positive")
        if self.max_text_bytes <= 0:
            raise ValueError("max_text_bytes must be positive")
        if self.max_stream_bytes <= 0:
            raise ValueError("max_stream_bytes must be positive")
        if self.max_container_entries <= 0:
            raise ValueError("max_container_entries must be positive")


def sniff(head: bytes) -> str | None:
    """Media type from the first bytes of a file (at least 64 are best), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF":
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            head[8:12]
        )
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return "audio/mpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    return _sniff_text(head)


def _sniff_ftyp(head: bytes) -> str | None:
    box_size = int.from_bytes(head[:4], "big")
    end = min(len(head), box_size if box_size >= 16 else 16)
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    for brand in brands:
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
    for brand in brands:
        if brand in _FTYP_AV_BRANDS:
            return _FTYP_AV_BRANDS[brand]
    return None


def id3_tag_end(head: bytes) -> int | None:
    """Where the ID3v2 tag at the start of ``head`` ends (None: there is none).

    c2pa-rs puts a FLAC file's manifest store in an ID3 tag in front of it, as it does for
    MP3: what follows the tag (``fLaC`` or an MPEG frame) says which one the file is.
    """
    if len(head) < 10 or not head.startswith(b"ID3") or any(b & 0x80 for b in head[6:10]):
        return None
    length = 0
    for byte in head[6:10]:  # a "synchsafe" integer: 7 bits a byte
        length = (length << 7) | byte
    return 10 + length + (10 if head[5] & 0x10 else 0)


def sniff_behind_id3(media_type: str | None, after_tag: bytes) -> str | None:
    """``media_type`` corrected by the bytes that follow a leading ID3 tag: a FLAC stream
    behind one is FLAC (c2pa-rs signs FLAC so)."""
    if media_type == "audio/mpeg" and after_tag.startswith(b"fLaC"):
        return "audio/flac"
    return media_type


def _mpeg_audio_frame(head: bytes) -> bool:
    """Whether ``head`` starts with an MPEG audio frame header (an MP3 without ID3 tag):
    11 sync bits, then a version, layer, bitrate and sampling rate that exist."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x03, (head[1] >> 1) & 0x03
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x03
    return version != 1 and layer in _MPEG_LAYERS and bitrate not in (0, 15) and rate != 3


def _sniff_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "image/svg+xml"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the sniffing window is still text.
        if exc.start < len(head) - 3:
            return None
    return "text/plain"


# Image types whose header Pillow parses here; c2pa-rs alone reads the others.
_PILLOW_HEADERS = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/avif"}
)
HEIF_TYPES = frozenset({"image/heic", "image/heif"})


@functools.cache
def heif_decoder() -> bool:
    """Whether HEIC/HEIF pixels can be decoded here: pillow-heif installed (its opener is
    then registered with Pillow, once). Pillow reads AVIF itself (from 11.3)."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def check_image_header(data: bytes, media_type: str, limits: Limits) -> None:
    """Refuse a broken header or a decompression bomb from the header alone (no decoding).

    Raises ``InputError``. Pillow's own bomb check errors only above twice its limit, so
    ``limits.max_pixels`` decides here, before anything allocates pixel memory.
    """
    if media_type not in _PILLOW_HEADERS and not (media_type in HEIF_TYPES and heif_decoder()):
        return
    from PIL import Image, UnidentifiedImageError  # here: sniffing and text need no Pillow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise InputError("image dimensions exceed the decoder's safety limit") from None
    except UnidentifiedImageError:
        raise InputError(f"not a readable {media_type} image (damaged header)") from None
    except (OSError, ValueError, SyntaxError, struct_error) as exc:
        raise InputError(f"not a readable {media_type} image ({exc})") from None
    if width * height > limits.max_pixels:
        raise InputError(
            f"{width}x{height} pixels is larger than the limit of {limits.max_pixels:,} pixels"
        )
    if media_type == "image/jpeg" and not _jpeg_complete(data):
        raise InputError("not a readable image/jpeg image (truncated: no end-of-image marker)")


def _jpeg_complete(data: bytes) -> bool:
    """Whether a JPEG's segments run to an end-of-image marker after its first scan.

    Cheap (no decoding): walks the marker segments to the first start-of-scan, then looks
    for EOI. Entropy-coded data stuffs every 0xFF with 0x00, so ``FF D9`` there is EOI.
    A structure this walk does not understand counts as complete: decoders judge it.
    """
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return True
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return True
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            # Most files end on their EOI: no need to scan the entropy-coded data for it.
            if len(data) - 2 >= end and data.endswith(b"\xff\xd9"):
                return True
            return data.find(b"\xff\xd9", end) != -1
        position = end
    return False


def decode_text(data: bytes, limits: Limits | None = None) -> str:
    """Strict UTF-8 (a byte-order mark is kept: it is part of the signed text).

    With ``limits``, text over ``limits.max_text_bytes`` raises ``InputError`` unread.
    """
    if limits is not None and len(data) > limits.max_text_bytes:
        raise InputError(f"text larger than the {limits.max_text_bytes:,}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedMedia(f"not UTF-8 text (bad byte at offset {exc.start})") from None


def extension_mismatch(path: Path, media_type: str) -> bool:
    """True when the file name claims a different type than its bytes."""
    suffix = path.suffix.lower()
    expected = _EXTENSIONS.get(media_type)
    if expected is None:
        return False
    if media_type == "text/plain" and suffix in _EXTENSIONS["text/markdown"]:
        return False
    return suffix not in expected


#: Other names signers write for the media types above.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
}


def canonical_type(media_type: str) -> str:
    """``media_type`` as the registry names it (lower case, parameters and aliases set
    aside: ``image/jpg`` is ``image/jpeg``)."""
    plain = media_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(plain, plain)


def types_named(name: str) -> frozenset[str]:
    """The media types whose extensions a file name ends with (empty: no extension, or
    one the registry does not know)."""
    suffix = Path(name).suffix.lower()
    if not suffix:
        return frozenset()
    return frozenset(kind for kind, suffixes in _EXTENSIONS.items() if suffix in suffixes)
