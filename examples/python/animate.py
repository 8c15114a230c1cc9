#!/usr/bin/env python3
"""Rain.Engine from Python through ctypes (no packages needed): load a bundle, stream poses, read frames.

    python3 animate.py --library dist/lib/librain.so --bundle BUNDLE [--poses N] [--out-dir DIR]
    python3 animate.py ... --reference-rgb REF.rgb --reference-size WxH --poses-rgb POSES.rgb --out-rgb FRAMES.rgb

Images are raw 8-bit interleaved RGB. Without --poses-rgb, a dot moving across a black canvas is used.
"""
import argparse
import ctypes
import os
import sys

RAIN_OK, RAIN_ERR_CLOSED = 0, 7


class RainError(RuntimeError):
    pass


class Rain:
    """The C ABI of include/rain.h, with argument and result types declared."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        u8p, cp, vp, i32 = ctypes.POINTER(ctypes.c_uint8), ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int
        sig = {
            "rain_version": (cp, []),
            "rain_last_error": (cp, []),
            "rain_status_name": (cp, [i32]),
            "rain_engine_load": (i32, [cp, cp, ctypes.POINTER(vp)]),
            "rain_engine_info": (i32, [vp, ctypes.POINTER(i32), ctypes.POINTER(i32), ctypes.POINTER(i32)]),
            "rain_engine_free": (None, [vp]),
            "rain_session_create": (i32, [vp, u8p, i32, i32, i32, ctypes.POINTER(vp)]),
            "rain_session_push_pose": (i32, [vp, u8p, i32, i32, i32, i32]),
            "rain_session_complete_input": (i32, [vp]),
            "rain_session_read_frame": (i32, [vp, u8p, i32, i32, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_double)]),
            "rain_session_stats_json": (i32, [vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
            "rain_session_free": (None, [vp]),
        }
        for name, (restype, argtypes) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self.lib = lib

    def check(self, status, what):
        if status != RAIN_OK:
            name = self.lib.rain_status_name(status).decode()
            raise RainError(f"{what}: {name}: {self.lib.rain_last_error().decode()}")


def pixels(data):
    return (ctypes.c_uint8 * len(data)).from_buffer(data)


def moving_dot(width, height, i, n):
    pose = bytearray(width * height * 3)
    x, y = i * (width - 8) // max(n - 1, 1), height // 2
    for dy in range(-3, 4):
        for dx in range(7):
            pose[((y + dy) * width + x + dx) * 3 + 1] = 255
    return pose


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", default=os.environ.get("RAIN_LIBRARY", "librain.so"))
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--poses", type=int, default=32)
    ap.add_argument("--reference-rgb")
    ap.add_argument("--reference-size", default="64x64")
    ap.add_argument("--poses-rgb")
    ap.add_argument("--out-rgb")
    ap.add_argument("--out-dir")
    args = ap.parse_args()

    rain = Rain(args.library)
    lib = rain.lib
    engine = ctypes.c_void_p()
    rain.check(lib.rain_engine_load(args.bundle.encode(), f'{{"seed": {args.seed}}}'.encode(), ctypes.byref(engine)), "load")
    w, h, p = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    rain.check(lib.rain_engine_info(engine, ctypes.byref(w), ctypes.byref(h), ctypes.byref(p)), "info")
    width, height, size = w.value, h.value, w.value * h.value * 3

    rw, rh = (int(v) for v in args.reference_size.split("x"))
    reference = bytearray(open(args.reference_rgb, "rb").read()) if args.reference_rgb else bytearray(200 for _ in range(rw * rh * 3))
    session = ctypes.c_void_p()
    rain.check(lib.rain_session_create(engine, pixels(reference), rw, rh, rw * 3, ctypes.byref(session)), "session")

    if args.poses_rgb:
        data = open(args.poses_rgb, "rb").read()
        poses = [bytearray(data[i:i + size]) for i in range(0, len(data), size)]
    else:
        poses = [moving_dot(width, height, i, args.poses) for i in range(args.poses)]
    for pose in poses:
        rain.check(lib.rain_session_push_pose(session, pixels(pose), width, height, width * 3, -1), "push")
    rain.check(lib.rain_session_complete_input(session), "complete")

    frame, index, latency = bytearray(size), ctypes.c_int64(), ctypes.c_double()
    out = open(args.out_rgb, "wb") if args.out_rgb else None
    frames = 0
    while True:
        status = lib.rain_session_read_frame(session, pixels(frame), width * 3, -1, ctypes.byref(index), ctypes.byref(latency))
        if status == RAIN_ERR_CLOSED:
            break
        rain.check(status, "read")
        if out:
            out.write(frame)
        if args.out_dir:
            with open(os.path.join(args.out_dir, f"frame_{index.value:05d}.ppm"), "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (width, height) + frame)
        frames += 1
    if out:
        out.close()

    needed = ctypes.c_size_t()
    lib.rain_session_stats_json(session, None, 0, ctypes.byref(needed))
    stats = ctypes.create_string_buffer(needed.value + 1)
    rain.check(lib.rain_session_stats_json(session, stats, needed.value + 1, ctypes.byref(needed)), "stats")
    print(f"{frames} frames of {width}x{height} (Rain.Engine {lib.rain_version().decode()})")
    print(stats.value.decode())
    lib.rain_session_free(session)
    lib.rain_engine_free(engine)


if __name__ == "__main__":
    try:
        main()
    except RainError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
