/*
 * rain.h — the C ABI of Rain.Engine (librain.so / rain.dll).
 *
 * Rain.Engine animates one reference character image from a live stream of pose images (RAIN, arXiv 2412.19489).
 * This header is the whole native contract: C11, no C++ and no exceptions cross it, every object is an opaque handle.
 *
 * Conventions
 *   - Every function that can fail returns a rain_status. On failure it sets this thread's last-error message
 *     (rain_last_error) and sets every out-pointer it was given: handles to NULL, frame_index to -1, latency_ms to 0.
 *   - Every pointer argument is checked: a NULL where an object is required is RAIN_ERR_ARGUMENT, never a crash.
 *   - Handles are validated on every call (a table with generation counters, not raw pointers): a freed, foreign or
 *     made-up handle is RAIN_ERR_ARGUMENT. Freeing NULL or an already freed handle does nothing.
 *   - Images are 8-bit RGB, pixels interleaved R, G, B, rows `stride` bytes apart (stride >= width * 3).
 *   - Timeouts are in milliseconds: a negative value waits without limit, 0 does not wait.
 *   - Strings are UTF-8 and NUL-terminated.
 *
 * Threading
 *   - An engine runs one session at a time (one GPU, one animation): a second rain_session_create is RAIN_ERR_BUSY.
 *   - A session's pushes and reads may happen on different threads (one pusher keeps the pose order yours). The
 *     session steps on its own thread: p pushed poses make one step.
 *   - rain_last_error is per thread.
 *
 * Compatibility promise
 *   RAIN_ABI_VERSION changes only when an existing function's signature or meaning changes, or a status code's
 *   meaning changes; then every consumer must be rebuilt. Within one ABI version functions and status codes are only
 *   added, so a consumer built against an older header of the same ABI version runs unchanged against a newer library.
 *   Check at run time with rain_abi_version().
 */
#ifndef RAIN_H
#define RAIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAIN_ABI_VERSION 1

#if defined(_WIN32)
#  define RAIN_API __declspec(dllimport)
#else
#  define RAIN_API
#endif

/** An engine: a model bundle loaded on a backend. Free with rain_engine_free. */
typedef struct rain_engine rain_engine;

/** One endless animation stream for one reference image. Free with rain_session_free. */
typedef struct rain_session rain_session;

typedef enum rain_status {
  RAIN_OK = 0,
  RAIN_ERR_ARGUMENT = 1,            /* a NULL, invalid or freed handle, a bad size, stride or option */
  RAIN_ERR_IO = 2,                  /* a file or folder could not be read */
  RAIN_ERR_BUNDLE = 3,              /* the bundle is missing, altered, of another version or inconsistent */
  RAIN_ERR_BACKEND_UNAVAILABLE = 4, /* the backend asked for cannot run here (no GPU, no TensorRT, no plans) */
  RAIN_ERR_SESSION_FAULTED = 5,     /* a step failed; frames made before the fault can still be read */
  RAIN_ERR_TIMEOUT = 6,             /* the wait ended before a pose could be queued or a frame was ready */
  RAIN_ERR_CLOSED = 7,              /* input was completed and every frame was read, or the session was closed */
  RAIN_ERR_BUSY = 8,                /* the engine already runs a session */
  RAIN_ERR_INTERNAL = 9             /* a defect or an exhausted resource; the message says which */
} rain_status;

/** The library's version, e.g. "0.1.0". Static storage; never NULL. */
RAIN_API const char *rain_version(void);

/** The ABI version of the loaded library (compare with RAIN_ABI_VERSION). */
RAIN_API int rain_abi_version(void);

/** This thread's last failure message, "" if none. Valid until this thread's next rain_* call. Never NULL. */
RAIN_API const char *rain_last_error(void);

/** The name of a status ("RAIN_ERR_TIMEOUT"), "unknown" for other values. Static storage. */
RAIN_API const char *rain_status_name(rain_status status);

/**
 * Loads and validates a bundle folder (written by `rain export`) and creates the backend.
 * options_json may be NULL: keys as EngineOptions in snake_case, all optional, e.g.
 *   {"seed": 7, "threads": 0, "backend": "cpu", "input_capacity": 64, "output_capacity": 64,
 *    "latest_frame_wins": false, "verify_bundle_hashes": true, "use_cuda_graph": true,
 *    "parallel_attention": true, "tensorrt_directory": "/opt/tensorrt/lib",
 *    "keep_reference_networks": false, "prepack_weights": true}
 * ("backend": "cpu" or "tensorrt"). An unknown key or a value of the wrong type is RAIN_ERR_ARGUMENT.
 */
RAIN_API rain_status rain_engine_load(const char *bundle_path, const char *options_json, rain_engine **out);

/** The size of pose images and frames, and p (poses per step = frames per step). Any out-pointer may be NULL. */
RAIN_API rain_status rain_engine_info(const rain_engine *engine, int *width, int *height, int *frames_per_step);

/** Writes what runs where ("ONNX Runtime 1.31 CPU, float32 ...") into buffer; *needed as in rain_session_stats_json. */
RAIN_API rain_status rain_engine_backend_json(const rain_engine *engine, char *buffer, size_t capacity, size_t *needed);

/** Frees the engine, and its open session if any (that session's handle becomes invalid). NULL is ignored. */
RAIN_API void rain_engine_free(rain_engine *engine);

/**
 * Fuses a reference image (of any size: it is resized as the managed API does) and starts a stream for it.
 * RAIN_ERR_BUSY if the engine already runs a session.
 */
RAIN_API rain_status rain_session_create(rain_engine *engine, const uint8_t *reference_rgb, int width, int height, int stride,
                                         rain_session **out);

/**
 * Queues a pose image (the bundle's size, see rain_engine_info). The pixels are copied before the call returns.
 * Waits up to timeout_ms while the pose queue is full (never with "latest_frame_wins": the oldest pose is dropped).
 */
RAIN_API rain_status rain_session_push_pose(rain_session *s, const uint8_t *rgb, int width, int height, int stride, int timeout_ms);

/**
 * Queues a camera frame of any size (up to 16384 per side): the session's pose thread turns it into RAIN's pose image
 * with the bundle's DWPose models (centre crop 0.9, RAIN's face retargeting) and queues that as a pose. The pixels are
 * copied before the call returns. Waits up to timeout_ms while the camera queue (2 frames) is full; with
 * "latest_frame_wins" the oldest waiting frame is dropped instead. A frame's latency_ms then runs from this call to its
 * animated frame leaving the session (glass to glass, as far as the library can see). RAIN_ERR_BUNDLE if the bundle has
 * no pose models (the message says how to add them). Do not mix with rain_session_push_pose in one session.
 */
RAIN_API rain_status rain_session_push_camera_frame(rain_session *s, const uint8_t *rgb, int width, int height, int stride,
                                                    int timeout_ms);

/**
 * Changes the face retargeting of camera frames while the session streams (the next frame uses it). json: RAIN's slider
 * parameters by name ({"face_length_ratio": 0.75, "eye_height_ratio": 3.0, ...}) or an explicit list
 * ({"translations": [{"lindex": 0, "rindex": 68, ...}]}); NULL restores RAIN's live list. A bad field is
 * RAIN_ERR_ARGUMENT naming it.
 */
RAIN_API rain_status rain_session_set_retarget_json(rain_session *s, const char *json);

/** No more input: the poses queued are processed to the end, then reads end with RAIN_ERR_CLOSED. */
RAIN_API rain_status rain_session_complete_input(rain_session *s);

/**
 * Waits up to timeout_ms for the next frame, in order, and copies it into rgb_out (width x height of the bundle, rows
 * `stride` bytes apart). frame_index (frame i belongs to the i-th pose) and latency_ms (its pose entering to the frame
 * leaving, in ms) may be NULL. RAIN_ERR_CLOSED once input is complete and every frame was read.
 */
RAIN_API rain_status rain_session_read_frame(rain_session *s, uint8_t *rgb_out, int stride, int timeout_ms, int64_t *frame_index,
                                             double *latency_ms);

/**
 * Writes the session's statistics as JSON (steps, frames_out, dropped, fps, step_ms, latency_ms, stages_ms with
 * count/mean/p50/p95/p99/max, allocations, and "camera": frames_in, dropped, detector_ms, estimator_ms, other_ms,
 * total_ms once camera frames were pushed) into buffer. *needed is always set to the length without the NUL;
 * RAIN_ERR_ARGUMENT if capacity <= *needed (call again with a larger buffer). buffer may be NULL when capacity is 0.
 */
RAIN_API rain_status rain_session_stats_json(rain_session *s, char *buffer, size_t capacity, size_t *needed);

/** Stops the session's thread (a step in progress completes), drops what is queued, frees the engine for a new session. */
RAIN_API void rain_session_free(rain_session *s);

#ifdef __cplusplus
}
#endif

#endif /* RAIN_H */
