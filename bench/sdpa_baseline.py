"""PyTorch's scaled_dot_product_attention at RAIN's cross-noise attention shapes, on this device.

The baseline bench/gpu-check.sh compares our cross_noise_attention kernels with (Rain.Bench.Gpu --sdpa): F = 16 frames,
8 heads, 64², 32², 16² and 8² positions with 320, 640, 1280 and 1280 channels, fp16. Our kernels read and write the
layout the UNet's spatial layers produce, [F, N, C]; SDPA wants [batch, heads, sequence, d], here [N, heads, F, d]. Two
times per shape, medians of CUDA-event-timed batches:
  sdpa_us          SDPA alone on tensors already in its layout (contiguous);
  sdpa_permute_us  from [F, N, C] to [F, N, C], the permutes (and the copies they imply) included: what replacing our
                   kernel with SDPA would cost the step.
Prints one JSON object per shape. Needs the device's own PyTorch with CUDA; exits 3 without it.
"""
import json
import sys


def main():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"sdpa_baseline: no PyTorch here ({e})", file=sys.stderr)
        return 3
    if not torch.cuda.is_available():
        print("sdpa_baseline: PyTorch sees no CUDA device", file=sys.stderr)
        return 3

    device = torch.device("cuda")
    frames, heads = 16, 8
    shapes = [(4096, 320), (1024, 640), (256, 1280), (64, 1280)]
    batches, per_batch = 7, 20

    def timed(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        samples = []
        for _ in range(batches):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(per_batch):
                fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) * 1000.0 / per_batch)
        samples.sort()
        return samples[len(samples) // 2]

    def backend(q, k, v):
        # Which fused kernel PyTorch can use here (it picks the first that applies: flash, then memory-efficient, then math).
        from torch.nn.attention import SDPBackend, sdpa_kernel
        for name, kind in (("flash", SDPBackend.FLASH_ATTENTION), ("mem-efficient", SDPBackend.EFFICIENT_ATTENTION), ("cudnn", getattr(SDPBackend, "CUDNN_ATTENTION", None)), ("math", SDPBackend.MATH)):
            if kind is None:
                continue
            try:
                with sdpa_kernel(kind):
                    F.scaled_dot_product_attention(q, k, v)
                return name
            except RuntimeError:
                continue
        return "unknown"

    for tokens, channels in shapes:
        d = channels // heads
        q, k, v = (torch.randn(frames, tokens, channels, device=device, dtype=torch.float16) for _ in range(3))

        def to_heads(x):  # [F, N, C] -> [N, heads, F, d]
            return x.view(frames, tokens, heads, d).permute(1, 2, 0, 3)

        qh, kh, vh = (to_heads(x).contiguous() for x in (q, k, v))

        def sdpa_only():
            return F.scaled_dot_product_attention(qh, kh, vh)

        def sdpa_with_permutes():
            o = F.scaled_dot_product_attention(to_heads(q), to_heads(k), to_heads(v))
            return o.permute(2, 0, 1, 3).reshape(frames, tokens, channels)

        try:
            name = backend(qh, kh, vh)
        except ImportError:
            name = "default"
        row = {"frames": frames, "tokens": tokens, "channels": channels, "heads": heads,
               "sdpa_us": round(timed(sdpa_only), 2), "sdpa_permute_us": round(timed(sdpa_with_permutes), 2),
               "backend": name, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
