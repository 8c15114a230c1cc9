/* Animate a character with Rain.Engine's C ABI: a reference image and pose images in, frames out as PPM files.
 *   cc animate.c $(pkg-config --cflags --libs rain) -o animate && ./animate BUNDLE OUT_DIR [POSES]  */
#include <rain.h>

#include <stdio.h>
#include <stdlib.h>

static void write_ppm(const char *path, const uint8_t *rgb, int width, int height) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fprintf(f, "P6\n%d %d\n255\n", width, height);
  fwrite(rgb, 3, (size_t)width * height, f);
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s BUNDLE OUT_DIR [POSES]\n", argv[0]); return 2; }
  int poses = argc > 3 ? atoi(argv[3]) : 32;

  rain_engine *engine = NULL;
  if (rain_engine_load(argv[1], "{\"seed\": 7}", &engine) != RAIN_OK) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], rain_last_error());
    return 1;
  }
  int width, height, p;
  rain_engine_info(engine, &width, &height, &p);

  /* Any size of reference works; here a 256x256 gradient stands in for the character. */
  uint8_t *reference = malloc(256 * 256 * 3);
  for (int i = 0; i < 256 * 256; i++) {
    reference[3 * i] = (uint8_t)(i % 256); reference[3 * i + 1] = (uint8_t)(i / 256); reference[3 * i + 2] = 128;
  }
  rain_session *session = NULL;
  if (rain_session_create(engine, reference, 256, 256, 256 * 3, &session) != RAIN_OK) {
    fprintf(stderr, "cannot start: %s\n", rain_last_error());
    return 1;
  }

  /* Pose images are the bundle's size: here a dot moving across a black canvas. */
  uint8_t *pose = calloc((size_t)width * height * 3, 1);
  for (int i = 0; i < poses; i++) {
    int x = i * (width - 8) / (poses > 1 ? poses - 1 : 1), y = height / 2;
    for (int dy = -3; dy <= 3; dy++)
      for (int dx = 0; dx < 7; dx++) pose[((y + dy) * width + x + dx) * 3 + 1] = 255;
    if (rain_session_push_pose(session, pose, width, height, width * 3, -1) != RAIN_OK)
      fprintf(stderr, "push: %s\n", rain_last_error());
    for (int dy = -3; dy <= 3; dy++)
      for (int dx = 0; dx < 7; dx++) pose[((y + dy) * width + x + dx) * 3 + 1] = 0;
  }
  rain_session_complete_input(session); /* the last poses are drained: every pose gets its frame */

  uint8_t *frame = malloc((size_t)width * height * 3);
  int64_t index, frames = 0;
  double latency_ms;
  rain_status status;
  while ((status = rain_session_read_frame(session, frame, width * 3, -1, &index, &latency_ms)) == RAIN_OK) {
    char path[4096];
    snprintf(path, sizeof path, "%s/frame_%05lld.ppm", argv[2], (long long)index);
    write_ppm(path, frame, width, height);
    frames++;
  }
  if (status != RAIN_ERR_CLOSED) fprintf(stderr, "read: %s\n", rain_last_error());
  printf("%lld frames of %dx%d\n", (long long)frames, width, height);

  free(frame);
  free(pose);
  free(reference);
  rain_session_free(session);
  rain_engine_free(engine);
  return status == RAIN_ERR_CLOSED ? 0 : 1;
}
