/*
 * The C ABI's test program, compiled with the machine's C compiler against include/rain.h and run against the
 * published librain by Rain.Native.Tests.
 *
 *   abi_test frames BUNDLE SEED REF.rgb REF_W REF_H POSES.rgb N OUT.rgb
 *       Pushes N poses (the bundle's size, read from POSES.rgb) on this thread while a second thread reads every frame
 *       into OUT.rgb (frame after frame, packed RGB), then prints "frames K" and the statistics JSON. Poses and frames
 *       cross the ABI with row padding, so strides are exercised.
 *   abi_test camera BUNDLE SEED REF.rgb REF_W REF_H FRAMES.rgb FW FH N OUT.rgb RETARGET_JSON
 *       The same with N camera frames of FW x FH pushed through the session's pose front end, after setting the
 *       retargeting from RETARGET_JSON.
 *   abi_test errors BUNDLE
 *       Drives every error path and prints one line per check ("ok NAME" or "FAIL NAME: ..."); exits with the
 *       number of failures.
 */
#include "rain.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned char *read_file(const char *path, size_t expected) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
  unsigned char *data = malloc(expected);
  if (!data || fread(data, 1, expected, f) != expected) { fprintf(stderr, "%s: expected %zu bytes\n", path, expected); exit(2); }
  fclose(f);
  return data;
}

/* ---- frames ---------------------------------------------------------------------------------------------------- */

typedef struct reader_args {
  rain_session *session;
  int width, height;
  FILE *out;
  long frames;
  int status;
  char error[512];
} reader_args;

static void *reader(void *p) {
  reader_args *a = p;
  int stride = a->width * 3 + 5; /* padded rows: the library must honour the stride */
  unsigned char *buffer = malloc((size_t)stride * a->height);
  for (;;) {
    int64_t index = -2;
    double latency = -1;
    rain_status s = rain_session_read_frame(a->session, buffer, stride, -1, &index, &latency);
    if (s == RAIN_ERR_CLOSED) { a->status = RAIN_OK; break; }
    if (s != RAIN_OK) { a->status = s; snprintf(a->error, sizeof a->error, "%s", rain_last_error()); break; }
    if (index != a->frames || latency < 0) {
      a->status = -1;
      snprintf(a->error, sizeof a->error, "frame %ld came with index %lld, latency %f", a->frames, (long long)index, latency);
      break;
    }
    for (int y = 0; y < a->height; y++) fwrite(buffer + (size_t)y * stride, 1, (size_t)a->width * 3, a->out);
    a->frames++;
  }
  free(buffer);
  return NULL;
}

/* frames: poses of the bundle's size; camera: camera frames of any size through the pose front end, with retargeting */
static int frames(int argc, char **argv, int camera) {
  int want = camera ? 13 : 10;
  if (argc != want) {
    fprintf(stderr, camera ? "usage: abi_test camera BUNDLE SEED REF.rgb REF_W REF_H FRAMES.rgb FW FH N OUT.rgb RETARGET_JSON\n"
                           : "usage: abi_test frames BUNDLE SEED REF.rgb REF_W REF_H POSES.rgb N OUT.rgb\n");
    return 2;
  }
  const char *bundle = argv[2];
  char options[128];
  snprintf(options, sizeof options, "{\"seed\": %s}", argv[3]);
  int rw = atoi(argv[5]), rh = atoi(argv[6]);

  rain_engine *engine = NULL;
  if (rain_engine_load(bundle, options, &engine) != RAIN_OK) { fprintf(stderr, "load: %s\n", rain_last_error()); return 1; }
  int w = 0, h = 0, p = 0;
  rain_engine_info(engine, &w, &h, &p);
  int fw = camera ? atoi(argv[8]) : w, fh = camera ? atoi(argv[9]) : h, n = atoi(argv[camera ? 10 : 8]);
  const char *out = argv[camera ? 11 : 9];

  unsigned char *reference = read_file(argv[4], (size_t)rw * rh * 3);
  unsigned char *inputs = read_file(argv[7], (size_t)fw * fh * 3 * n);
  rain_session *session = NULL;
  if (rain_session_create(engine, reference, rw, rh, rw * 3, &session) != RAIN_OK) { fprintf(stderr, "create: %s\n", rain_last_error()); return 1; }
  if (camera && rain_session_set_retarget_json(session, argv[12]) != RAIN_OK) { fprintf(stderr, "retarget: %s\n", rain_last_error()); return 1; }

  reader_args args = { session, w, h, fopen(out, "wb"), 0, 0, "" };
  pthread_t thread;
  pthread_create(&thread, NULL, reader, &args);

  int stride = fw * 3 + 11;
  unsigned char *padded = calloc((size_t)stride * fh, 1);
  for (int i = 0; i < n; i++) {
    for (int y = 0; y < fh; y++) memcpy(padded + (size_t)y * stride, inputs + ((size_t)i * fh + y) * fw * 3, (size_t)fw * 3);
    rain_status pushed = camera ? rain_session_push_camera_frame(session, padded, fw, fh, stride, -1)
                                : rain_session_push_pose(session, padded, fw, fh, stride, -1);
    if (pushed != RAIN_OK) { fprintf(stderr, "push %d: %s\n", i, rain_last_error()); return 1; }
  }
  rain_session_complete_input(session);
  pthread_join(thread, NULL);
  fclose(args.out);
  if (args.status != RAIN_OK) { fprintf(stderr, "read: %s (%d)\n", args.error, args.status); return 1; }

  size_t needed = 0;
  if (rain_session_stats_json(session, NULL, 0, &needed) != RAIN_ERR_ARGUMENT || needed == 0) { fprintf(stderr, "stats size query failed\n"); return 1; }
  char *json = malloc(needed + 1);
  if (rain_session_stats_json(session, json, needed + 1, &needed) != RAIN_OK) { fprintf(stderr, "stats: %s\n", rain_last_error()); return 1; }
  printf("frames %ld\n%s\n", args.frames, json);

  free(json);
  free(padded);
  free(inputs);
  free(reference);
  rain_session_free(session);
  rain_engine_free(engine);
  return 0;
}

/* ---- errors ---------------------------------------------------------------------------------------------------- */

static int failures = 0;

static void expect(const char *name, rain_status got, rain_status want) {
  const char *message = rain_last_error();
  if (got != want) {
    printf("FAIL %s: got %s, expected %s (%s)\n", name, rain_status_name(got), rain_status_name(want), message);
    failures++;
  } else if (want != RAIN_OK && (message == NULL || message[0] == '\0')) {
    printf("FAIL %s: %s without a message\n", name, rain_status_name(got));
    failures++;
  } else {
    printf("ok %s: %s%s%s\n", name, rain_status_name(got), want != RAIN_OK ? ": " : "", want != RAIN_OK ? message : "");
  }
}

static void check(const char *name, int condition, const char *format, ...) {
  if (condition) { printf("ok %s\n", name); return; }
  va_list args;
  va_start(args, format);
  printf("FAIL %s: ", name);
  vprintf(format, args);
  printf("\n");
  va_end(args);
  failures++;
}

typedef struct blocked_read {
  rain_session *session;
  unsigned char *frame;
  int stride;
  rain_status status;
} blocked_read;

static void *read_until_freed(void *p) {
  blocked_read *b = p;
  b->status = rain_session_read_frame(b->session, b->frame, b->stride, -1, NULL, NULL);
  return NULL;
}

static void *fresh_thread_error(void *p) {
  *(const char **)p = rain_last_error();
  return NULL;
}

static int errors(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: abi_test errors BUNDLE\n"); return 2; }
  const char *bundle = argv[2];

  check("version", rain_version() != NULL && rain_version()[0] != '\0', "empty version");
  check("abi_version", rain_abi_version() == RAIN_ABI_VERSION, "library ABI %d, header %d", rain_abi_version(), RAIN_ABI_VERSION);
  check("status_name", strcmp(rain_status_name(RAIN_ERR_BUSY), "RAIN_ERR_BUSY") == 0 && strcmp(rain_status_name((rain_status)99), "unknown") == 0,
        "wrong names");
  check("no error yet", rain_last_error() != NULL && rain_last_error()[0] == '\0', "'%s'", rain_last_error());

  /* loading */
  rain_engine *engine = (rain_engine *)0x1;
  expect("load NULL path", rain_engine_load(NULL, NULL, &engine), RAIN_ERR_ARGUMENT);
  check("load NULL path sets out to NULL", engine == NULL, "out = %p", (void *)engine);
  expect("load NULL out", rain_engine_load(bundle, NULL, NULL), RAIN_ERR_ARGUMENT);
  engine = (rain_engine *)0x1;
  expect("load missing bundle", rain_engine_load("/no/such/bundle", NULL, &engine), RAIN_ERR_BUNDLE);
  check("load missing bundle sets out to NULL", engine == NULL, "out = %p", (void *)engine);
  expect("options not JSON", rain_engine_load(bundle, "{seed: 1", &engine), RAIN_ERR_ARGUMENT);
  expect("options unknown key", rain_engine_load(bundle, "{\"seeed\": 1}", &engine), RAIN_ERR_ARGUMENT);
  expect("options wrong type", rain_engine_load(bundle, "{\"seed\": \"one\"}", &engine), RAIN_ERR_ARGUMENT);
  expect("options out of range", rain_engine_load(bundle, "{\"threads\": -1}", &engine), RAIN_ERR_ARGUMENT);
  expect("options unknown backend", rain_engine_load(bundle, "{\"backend\": \"vulkan\"}", &engine), RAIN_ERR_ARGUMENT);
  expect("tensorrt without TensorRT", rain_engine_load(bundle, "{\"backend\": \"tensorrt\", \"tensorrt_directory\": \"/no/such/dir\"}", &engine),
         RAIN_ERR_BACKEND_UNAVAILABLE);

  /* a thread that never failed has no message */
  const char *other = NULL;
  pthread_t thread;
  pthread_create(&thread, NULL, fresh_thread_error, &other);
  pthread_join(thread, NULL);
  check("last error is per thread", other != NULL && other[0] == '\0', "a fresh thread sees '%s'", other ? other : "(null)");

  expect("load", rain_engine_load(bundle, "{\"seed\": 3, \"input_capacity\": 4, \"output_capacity\": 4}", &engine), RAIN_OK);
  int w = 0, h = 0, p = 0;
  expect("info", rain_engine_info(engine, &w, &h, &p), RAIN_OK);
  check("info values", w > 0 && h > 0 && p > 0, "%dx%d p=%d", w, h, p);
  expect("info NULL engine", rain_engine_info(NULL, &w, &h, &p), RAIN_ERR_ARGUMENT);
  expect("info foreign handle", rain_engine_info((rain_engine *)&w, &w, &h, &p), RAIN_ERR_ARGUMENT);
  size_t needed = 0;
  expect("backend json size query", rain_engine_backend_json(engine, NULL, 0, &needed), RAIN_ERR_ARGUMENT);
  check("backend json needed", needed > 0, "needed = %zu", needed);

  /* sessions */
  size_t frame_bytes = (size_t)w * h * 3;
  unsigned char *image = calloc(frame_bytes * 4, 1);
  for (size_t i = 0; i < frame_bytes; i++) image[i] = (unsigned char)(i * 7);
  rain_session *s = (rain_session *)0x1;
  expect("create NULL engine", rain_session_create(NULL, image, w, h, w * 3, &s), RAIN_ERR_ARGUMENT);
  check("create failure sets out to NULL", s == NULL, "out = %p", (void *)s);
  expect("create NULL image", rain_session_create(engine, NULL, w, h, w * 3, &s), RAIN_ERR_ARGUMENT);
  expect("create zero width", rain_session_create(engine, image, 0, h, w * 3, &s), RAIN_ERR_ARGUMENT);
  expect("create stride too small", rain_session_create(engine, image, w, h, w * 3 - 1, &s), RAIN_ERR_ARGUMENT);
  expect("create NULL out", rain_session_create(engine, image, w, h, w * 3, NULL), RAIN_ERR_ARGUMENT);
  expect("create (reference of another size)", rain_session_create(engine, image, w / 2, h / 2, w * 3, &s), RAIN_OK);
  rain_session *second = (rain_session *)0x1;
  expect("second session is busy", rain_session_create(engine, image, w, h, w * 3, &second), RAIN_ERR_BUSY);
  check("busy sets out to NULL", second == NULL, "out = %p", (void *)second);

  unsigned char *frame = malloc(frame_bytes);
  int64_t index = 5;
  double latency = 5;
  expect("read before any input (timeout 0)", rain_session_read_frame(s, frame, w * 3, 0, &index, &latency), RAIN_ERR_TIMEOUT);
  check("failed read resets outs", index == -1 && latency == 0, "index %lld latency %f", (long long)index, latency);
  expect("read with a timeout", rain_session_read_frame(s, frame, w * 3, 30, NULL, NULL), RAIN_ERR_TIMEOUT);
  expect("read NULL buffer", rain_session_read_frame(s, NULL, w * 3, 0, NULL, NULL), RAIN_ERR_ARGUMENT);
  expect("read stride too small", rain_session_read_frame(s, frame, w * 3 - 3, 0, NULL, NULL), RAIN_ERR_ARGUMENT);
  expect("push wrong size", rain_session_push_pose(s, image, w, h - 1, w * 3, -1), RAIN_ERR_ARGUMENT);
  expect("push stride too small", rain_session_push_pose(s, image, w, h, w * 3 - 1, -1), RAIN_ERR_ARGUMENT);
  expect("push NULL pixels", rain_session_push_pose(s, NULL, w, h, w * 3, -1), RAIN_ERR_ARGUMENT);
  expect("push NULL session", rain_session_push_pose(NULL, image, w, h, w * 3, -1), RAIN_ERR_ARGUMENT);
  expect("camera frame without pose models", rain_session_push_camera_frame(s, image, w, h, w * 3, -1), RAIN_ERR_BUNDLE);
  expect("camera frame NULL", rain_session_push_camera_frame(s, NULL, w, h, w * 3, -1), RAIN_ERR_ARGUMENT);
  expect("camera frame stride too small", rain_session_push_camera_frame(s, image, w, h, w * 3 - 1, -1), RAIN_ERR_ARGUMENT);
  expect("retarget without pose models", rain_session_set_retarget_json(s, "{\"face_length_ratio\": 0.8}"), RAIN_ERR_BUNDLE);
  expect("stats NULL needed", rain_session_stats_json(s, NULL, 0, NULL), RAIN_ERR_ARGUMENT);
  expect("stats too small", rain_session_stats_json(s, (char *)frame, 4, &needed), RAIN_ERR_ARGUMENT);
  check("stats too small sets needed", needed > 4, "needed = %zu", needed);

  /* Nobody reads, so once the four frame slots are full the step thread waits for a reader and the pose queue fills
     up: a push then times out. 2 s per push is far longer than a step, so only a queue that stays full times out. */
  rain_status pushed = RAIN_OK;
  int count = 0;
  for (; count < 200 && pushed == RAIN_OK; count++) pushed = rain_session_push_pose(s, image, w, h, w * 3, 2000);
  expect("push into a full queue times out", pushed, RAIN_ERR_TIMEOUT);

  expect("complete input", rain_session_complete_input(s), RAIN_OK);
  expect("push after completion", rain_session_push_pose(s, image, w, h, w * 3, 0), RAIN_ERR_CLOSED);
  long frames = 0;
  rain_status read;
  while ((read = rain_session_read_frame(s, frame, w * 3, 10000, &index, NULL)) == RAIN_OK) {
    if (index != frames) break;
    frames++;
  }
  expect("read after every frame", read, RAIN_ERR_CLOSED);
  check("frames in order", frames > 0, "%ld frames", frames);
  expect("read again after completion", rain_session_read_frame(s, frame, w * 3, 0, NULL, NULL), RAIN_ERR_CLOSED);

  rain_session_free(s);
  expect("push on a freed session", rain_session_push_pose(s, image, w, h, w * 3, 0), RAIN_ERR_ARGUMENT);
  expect("read on a freed session", rain_session_read_frame(s, frame, w * 3, 0, NULL, NULL), RAIN_ERR_ARGUMENT);
  rain_session_free(s); /* double free: harmless */
  rain_session_free(NULL);

  /* freeing a session wakes a reader blocked on it (it sees the session closed, or already gone) */
  expect("create for a blocked reader", rain_session_create(engine, image, w, h, w * 3, &s), RAIN_OK);
  blocked_read blocked = { s, frame, w * 3, RAIN_OK };
  pthread_t blocked_thread;
  pthread_create(&blocked_thread, NULL, read_until_freed, &blocked);
  struct timespec pause = { 0, 200 * 1000 * 1000 };
  nanosleep(&pause, NULL);
  rain_session_free(s);
  pthread_join(blocked_thread, NULL);
  check("free wakes a blocked reader", blocked.status == RAIN_ERR_CLOSED || blocked.status == RAIN_ERR_ARGUMENT, "reader got %s", rain_status_name(blocked.status));

  /* a new session after the old one was freed; freeing the engine invalidates it */
  expect("create after free", rain_session_create(engine, image, w, h, w * 3, &s), RAIN_OK);
  rain_engine_free(engine);
  expect("session of a freed engine", rain_session_complete_input(s), RAIN_ERR_ARGUMENT);
  expect("freed engine", rain_engine_info(engine, &w, &h, &p), RAIN_ERR_ARGUMENT);
  rain_session_free(s);
  rain_engine_free(engine); /* double free: harmless */
  rain_engine_free(NULL);

  free(frame);
  free(image);
  printf("%d failures\n", failures);
  return failures;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "frames") == 0) return frames(argc, argv, 0);
  if (argc >= 2 && strcmp(argv[1], "camera") == 0) return frames(argc, argv, 1);
  if (argc >= 2 && strcmp(argv[1], "errors") == 0) return errors(argc, argv);
  fprintf(stderr, "usage: abi_test frames|errors ...\n");
  return 2;
}
