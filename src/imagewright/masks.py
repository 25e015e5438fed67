"""Masks with explicit polarity, so the API's conventions are impossible to get wrong.

(Initial version: only :func:`prepare_mask`, which the compiler calls. Issue 3 builds the
``Mask`` type here; keep ``prepare_mask``'s signature.)
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image

from .errors import MaskError, Problem
from .images import EncodedImage, ImageSource, load_image
from .models import MAX_MASK_BYTES

__all__ = ["Editable", "prepare_mask"]

Editable = Literal["white", "black", "transparent"]
"""Which pixels of a mask image mark the editable area."""


def prepare_mask(
    mask: ImageSource,
    *,
    image: EncodedImage,
    editable: Editable | None = None,
    param: str = "mask",
) -> EncodedImage:
    """Turn a user's mask into a valid OpenAI mask for ``image``: an RGBA PNG, alpha 0 = edit."""
    enc = load_image(mask, param=param)
    with Image.open(io.BytesIO(enc.data)) as im:
        im.load()
        if editable is None:
            if not enc.has_alpha:
                raise MaskError(
                    Problem(
                        param,
                        enc.filename,
                        f"mask has no alpha channel (mode {enc.mode}); the API edits where the "
                        "mask is fully transparent",
                        allowed="an RGBA PNG, or pass editable='white' or 'black'",
                    )
                )
            editable = "transparent"
        if editable == "transparent":
            alpha = np.asarray(im.convert("RGBA"))[..., 3]
            edit = alpha == 0
        else:
            lum = np.asarray(im.convert("L"))
            edit = lum >= 128 if editable == "white" else lum < 128
    if (im.width, im.height) != image.size:
        raise MaskError(
            Problem(
                param,
                f"{im.width}x{im.height}",
                "mask size differs from the first image",
                allowed=f"{image.width}x{image.height}",
            )
        )
    rgba = np.zeros((*edit.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(edit, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    if len(data) >= MAX_MASK_BYTES:
        raise MaskError(
            Problem(param, f"{len(data):,} bytes", "mask PNG too large", allowed="< 4 MB")
        )
    return EncodedImage(
        data=data,
        format="png",
        width=image.width,
        height=image.height,
        mode="RGBA",
        filename="mask.png",
    )
