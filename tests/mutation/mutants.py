"""The mutants: single, realistic changes to the code that holds imagewright's guarantees.

Each row names the module (under ``src/imagewright``), the exact source text to find (it
must occur exactly once: the runner refuses stale or ambiguous rows), its replacement, what a
user would see go wrong, and the tests that must catch it. ``tests`` narrows a mutant to the
tests that hold its guarantee (node ids), to keep the campaign fast on a small machine;
without it the module's files in :data:`TESTS_FOR` run. ``equivalent`` marks a mutant that
cannot change behaviour, with the reason; it is listed but not run.

Ids: the issue's survivors keep their ids (R2, W2, W4, W6, P5, V2, V4, K1, K2, B2, D1, D2, S1,
X4); the rest are numbered within the same letters (R retry, A ambiguity, K key scrubbing,
S streaming, T transport parsing, W wire form, C compile checks, V/M model table, X image
counts, P masks on edits, MK masks, PNG mask encoder, D diff, RS results, B budget, I images).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """One targeted mutation."""

    id: str
    module: str
    find: str
    replace: str
    reason: str
    tests: tuple[str, ...] = ()
    equivalent: str | None = None


T = "tests/"
RETRIES = T + "test_retries.py"
CLIENT = T + "test_client.py"
VALID = T + "test_validation.py"
COMPILE = T + "test_compile.py"
MASKS = T + "test_masks.py"
DIFF = T + "test_diff.py"
RESULTS = T + "test_results.py"
BUDGET = T + "test_budget.py"
IMAGES = T + "test_images.py"
TRANSPORT = T + "test_transport.py"
STALE = T + "test_stale_connections.py"

TESTS_FOR: dict[str, tuple[str, ...]] = {
    "_transport": (TRANSPORT, RETRIES, STALE, CLIENT),
    "_compile": (COMPILE, VALID),
    "calls": (COMPILE, VALID),
    "models": (VALID, COMPILE, T + "test_sizing.py"),
    "masks": (MASKS,),
    "_png": (MASKS,),
    "diff": (DIFF, RESULTS),
    "_diff_pixels": (DIFF, RESULTS),
    "_magic": (IMAGES,),
    "results": (RESULTS, DIFF),
    "client": (BUDGET, CLIENT),
    "images": (IMAGES,),
}
"""The test files that hold each module's guarantees (used when a mutant names none)."""


# fmt: off  (one row per mutant reads as a table)
MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- _transport: retries
    Mutant(
        "R1",
        "_transport",
        "RETRY_STATUSES = frozenset({408, 409, 429})",
        "RETRY_STATUSES = frozenset({408, 409})",
        "a 429 rate limit is not retried",
        tests=(RETRIES + "::test_429_retry_after_ms_is_honoured",),
    ),
    Mutant(
        "R2",
        "_transport",
        "(not math.isfinite(after) or after > MAX_RETRY_AFTER)",
        "(not math.isfinite(after) or after >= MAX_RETRY_AFTER)",
        "retry-after of exactly 120 s gives up instead of waiting",
        tests=(RETRIES + "::test_retry_after_of_120_s_is_waited_and_121_is_refused",),
    ),
    Mutant(
        "R3",
        "_transport",
        "response.status_code >= 500:",
        "response.status_code > 500:",
        "a 500 is not retried",
        tests=(RETRIES + "::test_500_then_success",),
    ),
    Mutant(
        "R4",
        "_transport",
        'if flag == "false":',
        'if flag == "never":',
        "x-should-retry: false is ignored (a 5xx the server says not to retry is retried)",
        tests=(RETRIES + "::test_x_should_retry_false_wins_over_5xx",),
    ),
    Mutant(
        "R5",
        "_transport",
        "if after is not None and 0 < after <= MAX_RETRY_AFTER:",
        "if after is not None and 0 < after < MAX_RETRY_AFTER:",
        "a retry-after of exactly 120 s is replaced by a short backoff",
        tests=(RETRIES + "::test_retry_after_rules",),
    ),
    Mutant(
        "R6",
        "_transport",
        "base = min(INITIAL_BACKOFF * 2.0**retries_taken, MAX_BACKOFF)",
        "base = INITIAL_BACKOFF * 2.0**retries_taken",
        "the exponential backoff is not capped at 8 s",
        tests=(RETRIES + "::test_backoff_follows_the_official_schedule",),
    ),
    Mutant(
        "R7",
        "_transport",
        "seconds = float(ms) / 1000.0",
        "seconds = float(ms)",
        "retry-after-ms read as seconds",
        tests=(
            TRANSPORT,
            RETRIES + "::test_429_retry_after_ms_is_honoured",
        ),
    ),
    Mutant(
        "R8",
        "_transport",
        '"stop": tenacity.stop_after_attempt(max_retries + 1),',
        '"stop": tenacity.stop_after_attempt(max_retries),',
        "one retry fewer than max_retries allows",
        tests=(RETRIES + "::test_retries_exhausted_raise_the_last_error",),
    ),
    Mutant(
        "R9",
        "_transport",
        "return parsed.timestamp() - (time.time() if now is None else now)",
        "return time.time() if now is None else now",
        "an HTTP-date retry-after is read as an absolute number of seconds (never honoured)",
        tests=(
            TRANSPORT,
            RETRIES + "::test_retry_after_http_date_is_honoured",
        ),
    ),
    # ---------------------------------------------------------------- _transport: ambiguity
    Mutant(
        "A1",
        "_transport",
        "ambiguous = not isinstance(exc, _BEFORE_SEND) and not unsent",
        "ambiguous = False",
        "a timeout after the upload is retried (a second paid image)",
        tests=(
            TRANSPORT,
            RETRIES + "::test_read_timeout_is_not_retried_by_default",
        ),
    ),
    Mutant(
        "A2",
        "_transport",
        "if ambiguous and not retry_ambiguous:",
        "if ambiguous and retry_ambiguous:",
        "retry_ambiguous is inverted",
        tests=(
            TRANSPORT,
            RETRIES + "::test_read_timeout_retried_when_opted_in",
        ),
    ),
    Mutant(
        "A3",
        "_transport",
        "    httpx2.ConnectError,\n",
        "",
        "a refused connection counts as ambiguous and is not retried",
        tests=(
            TRANSPORT,
            RETRIES + "::test_connection_refused_is_retried",
        ),
    ),
    Mutant(
        "A4",
        "_transport",
        "return not (isinstance(stream, _TrackedBody) and stream.started and not stream.complete)",
        "return True",
        "a stale keep-alive connection (body never fully written) is not retried",
        tests=(STALE,),
    ),
    Mutant(
        "A5",
        "_transport",
        'headers["Idempotency-Key"] = opts.idempotency_key',
        'headers["Idempotency-Key"] = f"imagewright-{uuid.uuid4()}"',
        "each retry carries a new Idempotency-Key",
        tests=(
            TRANSPORT,
            RETRIES + "::test_every_attempt_reuses_one_idempotency_key",
        ),
    ),
    # ---------------------------------------------------------------- _transport: key scrubbing
    Mutant(
        "K1",
        "_transport",
        "            response = await http.send(request, stream=True)\n"
        "        except httpx2.RequestError as exc:\n"
        "            raise _classify_transport(exc, request, opts) from exc\n"
        "        finally:\n"
        "            _scrub(request)\n",
        "            response = await http.send(request, stream=True)\n"
        "        except httpx2.RequestError as exc:\n"
        "            raise _classify_transport(exc, request, opts) from exc\n",
        "the async client keeps the key on the request an error carries",
        tests=(
            CLIENT + "::test_key_never_in_repr_logs_or_errors",
            CLIENT + "::test_azure_key_is_scrubbed_from_errors_and_budget_works",
        ),
    ),
    Mutant(
        "K2",
        "_transport",
        '_CREDENTIAL_HEADERS = ("authorization", "api-key")',
        '_CREDENTIAL_HEADERS = ("api-key",)',
        "the Authorization header stays on err.request (httpx masks it in repr only)",
        tests=(CLIENT + "::test_key_never_in_repr_logs_or_errors",),
    ),
    Mutant(
        "K3",
        "_transport",
        "            response = http.send(request, stream=True)\n"
        "        except httpx2.RequestError as exc:\n"
        "            raise _classify_transport(exc, request, opts) from exc\n"
        "        finally:\n"
        "            _scrub(request)\n",
        "            response = http.send(request, stream=True)\n"
        "        except httpx2.RequestError as exc:\n"
        "            raise _classify_transport(exc, request, opts) from exc\n",
        "the sync client keeps the key on the request an error carries",
        tests=(
            CLIENT + "::test_key_never_in_repr_logs_or_errors",
            CLIENT + "::test_azure_key_is_scrubbed_from_errors_and_budget_works",
        ),
    ),
    Mutant(
        "K4",
        "_transport",
        '_CREDENTIAL_HEADERS = ("authorization", "api-key")',
        '_CREDENTIAL_HEADERS = ("authorization",)',
        "an Azure api-key stays on err.request",
        tests=(CLIENT + "::test_azure_key_is_scrubbed_from_errors_and_budget_works",),
    ),
    # ---------------------------------------------------------------- _transport: streams, parsing
    Mutant(
        "S1",
        "_transport",
        "        if (partial := assembler.flush()) is not None:\n"
        "            yield partial\n"
        "    except httpx2.RequestError as exc:\n"
        "        raise _stream_transport_error(exc, response, assembler) from exc\n"
        "    finally:\n"
        "        response.close()\n",
        "    except httpx2.RequestError as exc:\n"
        "        raise _stream_transport_error(exc, response, assembler) from exc\n"
        "    finally:\n"
        "        response.close()\n",
        "sync stream: a last event without its blank line is dropped (no Result)",
        tests=(CLIENT + "::test_a_last_event_without_its_blank_line_still_ends_in_the_result",),
    ),
    Mutant(
        "S2",
        "_transport",
        "        if (partial := assembler.flush()) is not None:\n"
        "            yield partial\n"
        "    except httpx2.RequestError as exc:\n"
        "        raise _stream_transport_error(exc, response, assembler) from exc\n"
        "    finally:\n"
        "        await response.aclose()\n",
        "    except httpx2.RequestError as exc:\n"
        "        raise _stream_transport_error(exc, response, assembler) from exc\n"
        "    finally:\n"
        "        await response.aclose()\n",
        "async stream: a last event without its blank line is dropped (no Result)",
        tests=(CLIENT + "::test_a_last_event_without_its_blank_line_still_ends_in_the_result",),
    ),
    Mutant(
        "S3",
        "_transport",
        "usage = u if usage is None else usage + u",
        "usage = u",
        "a streamed n=2 call reports only the last image's usage (cost undercounted)",
        tests=(CLIENT + "::test_stream_with_done_marker_and_n_2",),
    ),
    Mutant(
        "S4",
        "_transport",
        'if obj.get("error"):',
        'if obj.get("error") and False:',
        "an error event mid-stream is ignored (no StreamError, partials lost)",
        tests=(
            CLIENT + "::test_error_event_inside_the_stream_raises",
            CLIENT + "::test_stream_error_keeps_partials_and_bad_base64_is_typed",
        ),
    ),
    Mutant(
        "S5",
        "_transport",
        'value = value[1:] if value.startswith(" ") else value',
        "value = value",
        "SSE field values keep the space after the colon",
        equivalent=(
            "the only values read are `event:` names (used only when the JSON has no `type`) "
            "and `data:` JSON, which json.loads reads the same with a leading space"
        ),
    ),
    Mutant(
        "T1",
        "_transport",
        "    if not outputs:\n        raise APIResponseValidationError(",
        "    if False:\n        raise APIResponseValidationError(",
        "a 200 without any image becomes a Result with no output",
        tests=(CLIENT + "::test_empty_success_is_an_error_not_an_empty_result",),
    ),
    Mutant(
        "T2",
        "_transport",
        'body = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed',
        "body = parsed",
        "an API error's message and code are lost from the exception",
        tests=(
            RETRIES + "::test_retry_after_over_120_s_is_not_retried",
            RETRIES + "::test_content_policy_is_never_retried",
        ),
    ),
    # ---------------------------------------------------------------- calls: the wire form
    Mutant(
        "W4",
        "calls",
        "        if value is None:\n            continue\n",
        "",
        "a nested None is sent (svg[reasoning]=None)",
    ),
    Mutant(
        "W6",
        "calls",
        'out += [(f"{name}[]", _form_value(v)) for v in value if v is not None]',
        "out += [(name, _form_value(v)) for v in value if v is not None]",
        "list fields lose their [] in multipart forms",
    ),
    Mutant(
        "W7",
        "calls",
        'return "true" if value else "false"',
        "return str(value)",
        "booleans go as True/False in multipart forms (stream=True is not understood)",
    ),
    Mutant(
        "W8",
        "calls",
        "return text + self._file_parts()",
        "return self._file_parts() + text",
        "parts() (and to_curl) put files before the text fields",
    ),
    Mutant(
        "W9",
        "calls",
        'image_name = "image[]" if self.images_as_list else "image"',
        'image_name = "image"',
        "several images go as repeated `image` parts instead of `image[]`",
    ),
    # ---------------------------------------------------------------- _compile: the body
    Mutant(
        "W2",
        "_compile",
        "images_as_list=request.images_as_list or len(images) > 1,",
        "images_as_list=request.images_as_list,",
        "one image plus a layout guide goes as two `image` parts, not `image[]`",
    ),
    Mutant(
        "W10",
        "_compile",
        "        if options[key] is not None:\n            body[key] = options[key]\n",
        "        body[key] = options[key]\n",
        "options left at None are sent as JSON null",
    ),
    Mutant(
        "W11",
        "_compile",
        "for key in sorted(options):",
        "for key in options:",
        "body fields leave the official SDK's order (alphabetical)",
    ),
    # ---------------------------------------------------------------- _compile: checks
    Mutant(
        "V4",
        "_compile",
        "if request.mask is not None and markup_src is not None:",
        "if request.mask is not None and request.markup is not None:",
        "a mask plus a layout whose guide goes as markup is not refused",
    ),
    Mutant(
        "X4",
        "_compile",
        "elif len(sources) > MAX_EDIT_IMAGES:",
        "elif len(request.image_list) > MAX_EDIT_IMAGES:",
        "16 sources plus a layout guide (17 images) are sent",
    ),
    Mutant(
        "X1",
        "_compile",
        "elif len(sources) > MAX_EDIT_IMAGES:",
        "elif len(sources) >= MAX_EDIT_IMAGES:",
        "16 images (the limit) are refused",
    ),
    Mutant(
        "P5",
        "_compile",
        "mask = prepare_mask(request.mask, image=images[0], editable=request.editable)",
        "mask = prepare_mask(request.mask, image=images[0])",
        "EditRequest(editable='white') is ignored: the L mask is refused as ambiguous",
        tests=(
            VALID,
            CLIENT + "::test_a_white_editable_mask_image_is_sent_transparent_exactly_where_white",
        ),
    ),
    Mutant(
        "C1",
        "_compile",
        "elif len(prompt) > limit:",
        "elif len(prompt) >= limit:",
        "a prompt of exactly 32,000 characters is refused",
    ),
    Mutant(
        "C2",
        "_compile",
        'and fmt_effective not in ("jpeg", "webp")',
        'and fmt_effective not in ("jpeg",)',
        "output_compression with webp is refused",
    ),
    Mutant(
        "C3",
        "_compile",
        'if fmt_effective not in ("png", "webp"):',
        'if fmt_effective not in ("png", "webp", "jpeg"):',
        "a transparent background with jpeg output is not refused",
    ),
    Mutant(
        "C4",
        "_compile",
        'c.int_range("partial_images", partials, 0, 3)',
        'c.int_range("partial_images", partials, 0, 4)',
        "partial_images=4 is sent",
    ),
    Mutant(
        "C5",
        "_compile",
        'c.int_range("n", p.get("n"), 1, c.spec.max_n if c.spec else MAX_N)',
        'c.int_range("n", p.get("n"), 0, c.spec.max_n if c.spec else MAX_N)',
        "n=0 is sent",
    ),
    Mutant(
        "C6",
        "_compile",
        'if stream and fmt in ("gif", "svg"):',
        'if stream and fmt in ("gif",):',
        "streaming an SVG is not refused",
    ),
    Mutant(
        "C7",
        "_compile",
        "    if lo != 0:\n",
        "    if False:\n",
        "markup without a transparent pixel (it would hide the image) is sent",
    ),
    Mutant(
        "C8",
        "_compile",
        'if enc.format != "png" or not ("A" in pixels.getbands() or "transparency" in pixels.info):',
        'if enc.format != "png" or not ("A" in pixels.getbands()):',
        "palette markup with tRNS transparency is refused",
    ),
    Mutant(
        "C9",
        "_compile",
        "    if enc.size != first.size:\n",
        "    if False:\n",
        "markup of another size than the image is sent",
    ),
    Mutant(
        "C10",
        "_compile",
        'if request.mask is not None and fmt == "gif":',
        'if request.mask is not None and fmt == "giff":',
        "a mask with GIF output is sent",
    ),
    Mutant(
        "C11",
        "_compile",
        "if markup_src is not None and c.spec is not None and c.strict and not c.spec.markup:",
        "if markup_src is not None and c.spec is not None and c.strict and False:",
        "markup is sent to a model without markup (gpt-image-2)",
    ),
    Mutant(
        "C12",
        "_compile",
        "        if c.spec.input_fidelity is None:\n",
        "        if False:\n",
        "input_fidelity is sent to a 2.x model that refuses it",
    ),
    Mutant(
        "C13",
        "_compile",
        'for key in ("response_format", "style"):',
        'for key in ("style",):',
        "the legacy response_format is sent",
    ),
    Mutant(
        "C14",
        "_compile",
        'if kinds == {"image"}:',
        'if kinds == {"images"}:',
        "image problems raise a plain ValidationError, not ImageInputError",
    ),
    Mutant(
        "C15",
        "_compile",
        "        if typo:\n",
        "        if False:\n",
        "a typo in a model name only warns and the call is sent",
    ),
    Mutant(
        "C16",
        "_compile",
        "elif not c.spec.available:",
        "elif False:",
        "a shut-down model (gpt-image-1) is sent",
    ),
    # ---------------------------------------------------------------- models: the size grammar
    Mutant(
        "V2",
        "models",
        "if max(w, h) > self.max_edge:",
        "if False:",
        "3856x1296 on gpt-image-2 (longest edge over 3840) is sent",
    ),
    Mutant(
        "M1",
        "models",
        "if max(w, h) / min(w, h) > self.max_aspect + 1e-9:",
        "if max(w, h) / min(w, h) > self.max_aspect + 1:",
        "an aspect of 3.5:1 is accepted",
    ),
    Mutant(
        "M2",
        "models",
        "if w * h < self.min_pixels:",
        "if w * h <= self.min_pixels:",
        "the smallest allowed size (655,360 pixels, 1024x640) is refused",
    ),
    Mutant(
        "M3",
        "models",
        "if w * h > self.max_pixels:",
        "if w * h >= self.max_pixels:",
        "3840x2160 (the largest allowed) is refused",
    ),
    Mutant(
        "M4",
        "models",
        "        if h % self.multiple:\n",
        "        if False:\n",
        "a height that is not a multiple of 16 is sent",
    ),
    Mutant(
        "M5",
        "models",
        "parsed[0] * parsed[1] > self.experimental_pixels",
        "parsed[0] * parsed[1] >= self.experimental_pixels",
        "2560x1440 itself is flagged as experimental",
    ),
    # ---------------------------------------------------------------- masks
    Mutant(
        "MK1",
        "masks",
        'return cls(lum >= threshold if editable == "white" else lum < threshold)',
        'return cls(lum < threshold if editable == "white" else lum >= threshold)',
        "editable='white' and 'black' swapped",
    ),
    Mutant(
        "MK2",
        "masks",
        'return cls._of(np.asarray(rgba.getchannel("A")) == 0)',
        'return cls._of(np.asarray(rgba.getchannel("A")) < 128)',
        "semi-transparent mask pixels count as editable (OpenAI edits only alpha 0)",
    ),
    Mutant(
        "MK3",
        "masks",
        "                m = self.resize(target)\n",
        "                m = self\n",
        "a mask of another size (same aspect) is not resized to the image",
    ),
    Mutant(
        "MK4",
        "masks",
        "    if editable is None and m.bbox is None:\n",
        "    if False:\n",
        "an alpha mask with no transparent pixel (edits nothing) is sent",
    ),
    Mutant(
        "MK5",
        "masks",
        "        if editable is not None:\n            raise fail(\n",
        "        if False:\n            raise fail(\n",
        "editable= with a Mask object is silently ignored",
    ),
    Mutant(
        "MK6",
        "masks",
        "return Mask._of(a & ~b if hard else np.minimum(a, 1.0 - b))",
        "return Mask._of(a & b if hard else np.minimum(a, 1.0 - b))",
        "mask subtraction keeps the intersection",
    ),
    # ---------------------------------------------------------------- _png: the mask encoder
    Mutant(
        "PNG1",
        "_png",
        "val = np.where(editable[rows - 1, cols], 255, 1)",
        "val = np.where(editable[rows - 1, cols], 1, 255)",
        "alpha deltas between rows inverted: the mask's editable area is garbled",
    ),
    Mutant(
        "PNG2",
        "_png",
        "packed[0] |= 0b011  # BFINAL=1, BTYPE=01 (fixed Huffman)",
        "packed[0] |= 0b001  # BFINAL=1, BTYPE=00",
        "the deflate block type is wrong: the mask PNG does not decode",
    ),
    Mutant(
        "PNG3",
        "_png",
        "b = (n + int((values * ((n - positions) % _ADLER_BASE)).sum())) % _ADLER_BASE",
        "b = int((values * ((n - positions) % _ADLER_BASE)).sum()) % _ADLER_BASE",
        "the zlib Adler-32 checksum of the mask is wrong (a strict decoder refuses it)",
    ),
    Mutant(
        "PNG4",
        "_png",
        "crc = zlib.crc32(payload, zlib.crc32(tag))",
        "crc = zlib.crc32(payload)",
        "PNG chunk CRCs are wrong",
    ),
    Mutant(
        "PNG5",
        "_png",
        "alpha[0] = np.where(editable[0], np.uint8(0), np.uint8(255))",
        "alpha[0] = np.where(editable[0], np.uint8(255), np.uint8(0))",
        "noisy masks (the zlib fallback) have row 0 inverted",
    ),
    Mutant(
        "PNG6",
        "_png",
        "full = rest // 258",
        "full = rest // 257",
        "long zero runs are miscounted: the mask PNG decodes to the wrong length",
    ),
    # ---------------------------------------------------------------- diff
    Mutant(
        "D2",
        "diff",
        "if outside.mae > p.max_mae:",
        "if False:",
        "a protected area shifted uniformly by a few levels still counts as preserved",
    ),
    Mutant(
        "D3",
        "diff",
        "if outside.changed_fraction > p.max_changed_fraction:",
        "if False:",
        "a small but strong leak in the protected area counts as preserved",
    ),
    Mutant(
        "D4",
        "diff",
        "return np.asarray(self.magnitude > self.threshold, dtype=np.bool_)",
        "return np.asarray(self.magnitude >= self.threshold, dtype=np.bool_)",
        "a change of exactly `threshold` levels counts as changed",
    ),
    Mutant(
        "D5",
        "diff",
        "if p.min_ssim is not None and outside.ssim < p.min_ssim:",
        "if p.min_ssim is not None and outside.ssim > p.min_ssim:",
        "min_ssim inverted",
    ),
    Mutant(
        "D6",
        "_diff_pixels",
        "        result[~editable] = src[~editable]\n",
        "",
        "feathered paste-back may move protected pixels by rounding",
        equivalent=(
            "the seam weight is exactly 0 outside the editable area, so src + 0 * (out - src) "
            "rounds back to src; the line only makes that independent of float rounding"
        ),
    ),
    Mutant(
        "D7",
        "_diff_pixels",
        "result = np.where(editable[..., None], out, src)",
        "result = np.where(editable[..., None], src, out)",
        "paste-back restores the editable area instead of the protected one",
    ),
    # ---------------------------------------------------------------- results
    Mutant(
        "D1",
        "results",
        "return all(d.preservation is None or d.preservation.passed for d in self.diffs)",
        "return all(d.preservation is None or d.preservation.passed for d in self.diffs[:1])",
        "with n=2, a leak in the second output still reads preserved",
    ),
    Mutant(
        "RS1",
        "results",
        "return {k: _add_numbers(a.get(k), b.get(k)) for k in {**a, **b}}",
        "return {k: _add_numbers(a.get(k), b.get(k)) for k in a}",
        "usage fields only one side reports are dropped when usages are added",
    ),
    # ---------------------------------------------------------------- client: the budget
    Mutant(
        "B2",
        "client",
        "        error, (ValidationError, BudgetExceededError, ConfigurationError, APIStatusError)\n",
        "        error,\n"
        "        (\n"
        "            ValidationError,\n"
        "            BudgetExceededError,\n"
        "            ConfigurationError,\n"
        "            APIStatusError,\n"
        "            APIResponseValidationError,\n"
        "        ),\n",
        "a malformed 2xx (generated and billed) is counted as not billed",
        tests=(BUDGET + "::test_a_malformed_200_counts_as_spent",),
    ),
    Mutant(
        "B1",
        "client",
        "cost_from_usage(result.model, result.usage) if result.usage else held.amount_usd",
        "held.amount_usd",
        "the budget counts the estimate, not the cost the usage reports",
    ),
    Mutant(
        "B3",
        "client",
        "        return not error.may_have_been_billed\n",
        "        return True\n",
        "an ambiguous failure (maybe billed) gives its reservation back",
    ),
    Mutant(
        "B4",
        "client",
        "            self._settle(held, error=exc)\n",
        "",
        "a failed call keeps its reservation: the budget leaks",
    ),
    Mutant(
        "B5",
        "client",
        "or isinstance(max_retries, bool) or max_retries < 0:",
        "or isinstance(max_retries, bool):",
        "max_retries=-1 is accepted",
        tests=(CLIENT + "::test_a_negative_per_call_max_retries_is_refused_before_sending",),
    ),
    # ---------------------------------------------------------------- images
    Mutant(
        "I1",
        "images",
        "    if frames > 1:\n",
        "    if False:\n",
        "an animated PNG/WebP is sent (which frame the API uses is undocumented)",
    ),
    Mutant(
        "I2",
        "images",
        "    if not _complete(data, fmt):\n",
        "    if False:\n",
        "a truncated image file is sent",
    ),
    Mutant(
        "I3",
        "images",
        'if fmt == "gif":\n        raise ImageInputError(',
        'if fmt == "giff":\n        raise ImageInputError(',
        "a GIF input is sent (the API refuses it, after the upload)",
    ),
    Mutant(
        "I4",
        "images",
        "    if len(data) >= MAX_IMAGE_BYTES:\n        raise _too_large(param, label, len(data))\n    fmt",
        "    fmt",
        "an input of 50 MB or more is uploaded",
    ),
    Mutant(
        "I5",
        "_magic",
        'return int.from_bytes(data[4:8], "little") + 8 <= len(data)',
        "return True",
        "a truncated WebP is sent",
        equivalent=(
            "under Pillow 13 a WebP whose RIFF size exceeds its data already fails to open "
            "(libwebp's demuxer checks it) before this check runs: the same ImageInputError"
        ),
    ),
    Mutant(
        "I6",
        "images",
        "if size is not None and size[0] * size[1] > _ceiling():",
        "if False:",
        "the declared-size bomb check is skipped",
    ),
)
# fmt: on
"""Every mutant of the campaign."""
