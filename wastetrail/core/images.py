"""Checking photos uploaded by the public before anything is stored.

A file is accepted only if it is small enough, *decodes* as a JPEG, PNG or WebP image (its
content decides, not its name or the type the browser claims), and is not a decompression bomb.
Each rejection says which photo and why, in words a resident understands.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is ~48M: past this, refuse, don't decode
PHOTO_MIN_SIDE = 16


@dataclass(frozen=True)
class CheckedPhoto:
    upload: UploadedFile
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return PHOTO_FORMATS[self.format]


def check_photo(upload: UploadedFile, *, label: str = "") -> CheckedPhoto:
    """The photo's format and size, or a ValidationError naming the photo."""
    name = label or (upload.name or _("the photo"))
    if upload.size is None or upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError(_("%(name)s is larger than %(mb)d MB.") % {
            "name": name, "mb": PHOTO_MAX_BYTES // (1024 * 1024)})
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image_format = image.format
                width, height = image.size
                if image_format not in PHOTO_FORMATS:
                    raise ValidationError(_("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name})
                if width * height > PHOTO_MAX_PIXELS:
                    raise ValidationError(_("%(name)s has too many pixels.") % {"name": name})
                if min(width, height) < PHOTO_MIN_SIDE:
                    raise ValidationError(_("%(name)s is too small to show anything.") % {"name": name})
                # Decode the pixels: a file with a valid header and garbage after it fails here.
                image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name}) from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(_("%(name)s is damaged and cannot be opened.") % {"name": name}) from None
    finally:
        upload.seek(0)
    return CheckedPhoto(upload, image_format, width, height)


def check_photos(uploads, *, limit: int, field: str = "photos") -> list[CheckedPhoto]:
    """Every photo checked before any is stored; errors are reported on ``field``."""
    uploads = list(uploads or ())
    if len(uploads) > limit:
        raise ValidationError({field: _("Attach at most %(limit)d photos.") % {"limit": limit}})
    checked, problems = [], []
    for index, upload in enumerate(uploads, start=1):
        try:
            checked.append(check_photo(upload, label=_("Photo %(n)d") % {"n": index}))
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError({field: problems})
    return checked
