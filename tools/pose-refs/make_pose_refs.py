#!/usr/bin/python3
"""Reference data for the pose front end's tests beyond the golden set, made with the libraries RAIN itself calls.

Run with Debian 12's python3 and `apt-get install python3-opencv python3-pil python3-onnx python3-numpy` (OpenCV 4.6,
Pillow 9.4, onnx 1.12, numpy 1.24: the versions the golden set was made with):

    /usr/bin/python3 tools/pose-refs/make_pose_refs.py tests/data/golden/dwpose tests/data/pose

It writes, into the output folder:
- rtmpose_standin_256x192.onnx: the golden pose stand-in re-shaped to the 256x192 input of dw-mm_ucoco.onnx (SimCC
  384/512): cells of 64x48 instead of 96x72, the SimCC grids 1.5 apart, everything else unchanged;
- pose_refs.safetensors: inputs and outputs of
  * cv2.resize INTER_LINEAR letterboxes (YOLOX's preprocess) at sizes the golden set does not reach: a non-square upscale,
    a non-integer downscale, and an exact 2x reduction (where OpenCV switches to INTER_AREA);
  * PIL BILINEAR resizes (torchvision's Resize) up, down and mixed;
  * cv2.warpAffine of a rotated matrix, and RAIN's crop for a 192x256 model (cv2.getAffineTransform on RAIN's points);
  * cv2.circle fills at and beyond the canvas edges;
  * RAIN's pipeline with the 256x192 stand-in on golden frames 0..3 from the stored detector boxes: SimCC argmax and the
    drawn face (the stand-in evaluated op by op in numpy float32, as the golden generator did);
- mm_fNN__pose_crop_u8.png and mm_fNN__rendered.png: that pipeline's crops and pose images (lossless RGB PNG).
The random inputs are seeded; running the script twice gives the same files.
"""
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

GOLDEN = Path(sys.argv[1])
OUT = Path(sys.argv[2])
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(20250611)
tensors = {}


def put(name, array):
    tensors[name] = np.ascontiguousarray(array)


def save_safetensors(path, items):
    header, offset, blobs = {}, 0, []
    codes = {np.dtype(np.uint8): "U8", np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}
    for name in sorted(items):
        a = items[name]
        data = a.tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


# --- letterbox (onnxdet.py preprocess with input_size = canvas) -------------------------------------------------------
for name, (h, w), (ch, cw) in [("up", (30, 40), (64, 64)), ("down", (70, 100), (64, 64)), ("half", (64, 96), (48, 48))]:
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    r = min(ch / h, cw / w)
    padded = np.ones((ch, cw, 3), dtype=np.uint8) * 114
    resized = cv2.resize(img, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    padded[: int(h * r), : int(w * r)] = resized
    put(f"letterbox/{name}/input", img)
    put(f"letterbox/{name}/canvas", padded)

# --- Pillow bilinear --------------------------------------------------------------------------------------------------
for name, (h, w), (oh, ow) in [("up", (23, 37), (64, 64)), ("down", (90, 150), (64, 64)), ("mixed", (200, 50), (60, 80))]:
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = np.array(Image.fromarray(img).resize((ow, oh), Image.BILINEAR))
    put(f"pil/{name}/input", img)
    put(f"pil/{name}/output", out)

# --- warpAffine -------------------------------------------------------------------------------------------------------
src = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
put("warp/input", src)
a = np.deg2rad(17.0)
rotated = np.array([[np.cos(a) * 0.8, -np.sin(a) * 0.8, 30.25], [np.sin(a) * 0.8, np.cos(a) * 0.8, -12.5]], dtype=np.float64)
put("warp/rotated/matrix", rotated)
put("warp/rotated/output", cv2.warpAffine(src, rotated, (96, 128), flags=cv2.INTER_LINEAR))


def rain_crop_matrix(box, w_in, h_in):
    """RAIN's bbox_xyxy2cs, _fix_aspect_ratio and get_warp_matrix (rot 0), with OpenCV solving the matrix."""
    x1, y1, x2, y2 = box
    center = np.array([x1 + x2, y1 + y2]) * 0.5
    scale = np.array([x2 - x1, y2 - y1]) * 1.25
    aspect = w_in / h_in
    w, h = scale
    scale = np.array([w, w / aspect]) if w > h * aspect else np.array([h * aspect, h])
    src = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center
    src[1, :] = center + np.array([0.0, scale[0] * -0.5])
    d = src[0, :] - src[1, :]
    src[2, :] = src[1, :] + np.r_[-d[1], d[0]]
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0, :] = [w_in * 0.5, h_in * 0.5]
    dst[1, :] = np.array([w_in * 0.5, h_in * 0.5]) + np.array([0.0, w_in * -0.5])
    e = dst[0, :] - dst[1, :]
    dst[2, :] = dst[1, :] + np.r_[-e[1], e[0]]
    return center, scale, cv2.getAffineTransform(np.float32(src), np.float32(dst))


box = np.array([-10.5, 20.25, 70.0, 100.75])
center, scale, m = rain_crop_matrix(box, 192, 256)
put("warp/rain/box", box)
put("warp/rain/matrix", m)
put("warp/rain/output", cv2.warpAffine(src, m, (192, 256), flags=cv2.INTER_LINEAR))

# --- circles ----------------------------------------------------------------------------------------------------------
canvas = np.zeros((30, 40, 3), dtype=np.uint8)
circles = []
for (x, y, r) in [(0, 0, 3), (39, 29, 5), (-4, 10, 6), (45, 12, 6), (20, -8, 9), (20, 15, 1), (10, 25, 12), (60, 60, 20), (-30, 15, 29)]:
    color = tuple(int(v) for v in rng.integers(1, 256, 3))
    cv2.circle(canvas, (x, y), r, color, thickness=-1)
    circles.append([x, y, r, *color])
put("circles/list", np.array(circles, dtype=np.int64))
put("circles/canvas", canvas)

# --- the 256x192 stand-in and RAIN's pipeline through it --------------------------------------------------------------
model = onnx.load(str(GOLDEN / "rtmpose_standin.onnx"))
g = model.graph
init = {i.name: i for i in g.initializer}


def replace(name, array):
    init[name].CopyFrom(numpy_helper.from_array(array.astype(numpy_helper.to_array(init[name]).dtype), name))


replace("shape6", np.array([1, 3, 4, 64, 4, 48]))
replace("div_q", np.array(64 * 48 * 16, dtype=np.float32))
replace("grid_x", (np.arange(384, dtype=np.float32) * 1.5).reshape(1, 1, 384))
replace("grid_y", (np.arange(512, dtype=np.float32) * 1.5).reshape(1, 1, 512))
for vi, dims in [(g.input[0], [1, 3, 256, 192]), (g.output[0], [1, 133, 384]), (g.output[1], [1, 133, 512])]:
    for d, v in zip(vi.type.tensor_type.shape.dim, dims):
        d.dim_value = v
onnx.checker.check_model(model, full_check=True)
onnx.save(model, str(OUT / "rtmpose_standin_256x192.onnx"))
W = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def standin(x):
    """The stand-in graph, op by op in float32 (Exp in float64 rounded once, as the golden generator evaluated it)."""
    pix = np.round(x * W["pose_std"] + W["pose_mean"]).astype(np.float32)
    cells = pix.reshape(W["shape6"]).sum(axis=(3, 5), dtype=np.float32)
    q = np.floor(cells / W["div_q"]).reshape(1, 48).astype(np.float32)
    u = (q @ W["pose_W"] + W["pose_B"]).astype(np.float32).reshape(1, 133, 6)
    outs = []
    for grid, mu, amp, off in [(W["grid_x"], 0, 2, 4), (W["grid_y"], 1, 3, 5)]:
        d = (grid - u[:, :, mu:mu + 1]).astype(np.float32)
        arg = (d * d * W["neg_c"]).astype(np.float32)
        outs.append((np.exp(arg.astype(np.float64)).astype(np.float32) * u[:, :, amp:amp + 1] + u[:, :, off:off + 1]).astype(np.float32))
    return outs


config = json.load(open(GOLDEN / "dwpose_config.json"))
patterns = [(p["indices"], tuple(p["color"])) for p in config["patterns"]]
translations = config["translations"]
golden = {}
with open(GOLDEN / "dwpose_golden.safetensors", "rb") as f:
    n = int.from_bytes(f.read(8), "little")
    header = json.loads(f.read(n))
    body = f.read()
for k, v in header.items():
    if k != "__metadata__":
        dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}[v["dtype"]]
        golden[k] = np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=dt).reshape(v["shape"])


def translate(t, clique, all_points):
    """RAIN's translation.translate (spec 8.2)."""
    if t["xaxis"] is not None:
        a, b = clique[t["xaxis"][0]], clique[t["xaxis"][1]]
        pitch = math.atan2(b[1] - a[1], b[0] - a[0])  # math (libm), as RAIN: numpy's SIMD sin/cos may differ by an ulp
        mtx_inv = np.array([[math.cos(-pitch), -math.sin(-pitch)], [math.sin(-pitch), math.cos(-pitch)]])
        mtx = np.array([[math.cos(pitch), -math.sin(pitch)], [math.sin(pitch), math.cos(pitch)]])
    length = 1.0
    if t["relative_length"] is not None:
        (x1, y1), (x2, y2) = all_points[t["relative_length"][0]], all_points[t["relative_length"][1]]
        length = math.sqrt((x1 - x2) ** 2 + (y1 - y2) ** 2)
    cx, cy = np.average(clique, axis=0)
    c = clique - np.array([[cx, cy]])
    if t["xaxis"] is not None:
        c = c @ mtx
    c[:, 0] = c[:, 0] * t["horizontal_scale"] + t["horizontal_transition"] * length
    c[:, 1] = c[:, 1] * t["vertical_scale"] + t["vertical_transition"] * length
    if t["xaxis"] is not None:
        c = c @ mtx_inv
    return np.array([[cx, cy]]) + c


mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
cache = []
for fi in range(4):
    resized = np.array(Image.open(GOLDEN / "images" / f"f{fi:02d}__resized.png").convert("RGB"))
    box = golden[f"f{fi:02d}/pose_bbox"]
    center, scale, m = rain_crop_matrix(box, 192, 256)
    crop = cv2.warpAffine(resized, m, (192, 256), flags=cv2.INTER_LINEAR)
    x = np.array([((crop - mean) / std).transpose(2, 0, 1)], dtype=np.float32)
    sx, sy = standin(x)
    ix, iy = sx[0].argmax(axis=1), sy[0].argmax(axis=1)
    mx, my = sx[0].max(axis=1), sy[0].max(axis=1)
    scores = np.where(mx > my, my, mx)
    locs = np.stack([ix, iy], axis=-1).astype(np.float32)
    locs[scores <= 0] = -1
    locs /= np.float32(2.0)
    kp = locs / np.array([192, 256]) * scale + center - scale / 2
    info = np.concatenate([kp, scores[:, None]], axis=-1)
    neck = np.mean(info[[5, 6]], axis=0)
    neck[2] = float(info[5, 2] > 0.3 and info[6, 2] > 0.3)
    info = np.insert(info, 17, neck, axis=0)
    info[[1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]] = info[[17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3]]
    face = info[24:92, :2] / 512.0
    face[info[24:92, 2] < 0.3] = -1
    if cache:
        face = np.where(face == -1, cache[-1], face)
    cache.append(face)
    length = np.sqrt((face[27, 0] - face[8, 0]) ** 2 + (face[27, 1] - face[8, 1]) ** 2) / 0.3
    lm = np.array(face)
    for t in translations:
        lm[t["lindex"]:t["rindex"], :] = translate(t, lm[t["lindex"]:t["rindex"], :], lm)
    canvas = np.zeros((512, 512, 3), dtype=np.uint8)
    for idx, color in patterns:
        px, py = np.mean(lm[idx], axis=0)
        px, py = int(px * 512), int(py * 512)
        if px > 0.01 and py > 0.01:
            cv2.circle(canvas, (px, py), max(int(3 * length), 1), color, thickness=-1)
    p = f"mm/f{fi:02d}"
    # Image stages as lossless PNG (RGB), like the golden set, to keep the data small.
    cv2.imwrite(str(OUT / f"mm_f{fi:02d}__pose_crop_u8.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(OUT / f"mm_f{fi:02d}__rendered.png"), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    put(f"{p}/simcc_argmax", np.stack([ix, iy], axis=-1).astype(np.int64))
    put(f"{p}/face_translated", lm.astype(np.float64))

save_safetensors(OUT / "pose_refs.safetensors", tensors)
print(f"wrote {OUT / 'rtmpose_standin_256x192.onnx'} and {OUT / 'pose_refs.safetensors'} ({len(tensors)} tensors)")
