// Rain.Engine from C++: RAII handles over the C ABI, failures as exceptions.
#include <rain.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rain {

struct EngineFree { void operator()(rain_engine *e) const { rain_engine_free(e); } };
struct SessionFree { void operator()(rain_session *s) const { rain_session_free(s); } };
using Engine = std::unique_ptr<rain_engine, EngineFree>;
using Session = std::unique_ptr<rain_session, SessionFree>;

inline void check(rain_status status, const char *what) {
  if (status != RAIN_OK) throw std::runtime_error(std::string(what) + ": " + rain_status_name(status) + ": " + rain_last_error());
}

}  // namespace rain

int main(int argc, char **argv) try {
  if (argc < 2) { std::fprintf(stderr, "usage: %s BUNDLE [POSES]\n", argv[0]); return 2; }
  const int poses = argc > 2 ? std::stoi(argv[2]) : 24;

  rain_engine *raw_engine = nullptr;
  rain::check(rain_engine_load(argv[1], R"({"seed": 7, "threads": 0})", &raw_engine), "load");
  rain::Engine engine(raw_engine);
  int width = 0, height = 0, p = 0;
  rain::check(rain_engine_info(engine.get(), &width, &height, &p), "info");

  std::vector<uint8_t> reference(64 * 64 * 3, 200);
  rain_session *raw_session = nullptr;
  rain::check(rain_session_create(engine.get(), reference.data(), 64, 64, 64 * 3, &raw_session), "session");
  rain::Session session(raw_session);

  std::vector<uint8_t> pose(static_cast<size_t>(width) * height * 3);
  for (int i = 0; i < poses; i++) {
    for (size_t j = 0; j < pose.size(); j++) pose[j] = static_cast<uint8_t>((j + 13 * i) % 251);
    rain::check(rain_session_push_pose(session.get(), pose.data(), width, height, width * 3, -1), "push");
  }
  rain::check(rain_session_complete_input(session.get()), "complete");

  std::vector<uint8_t> frame(pose.size());
  int64_t frames = 0, index = 0;
  double latency_ms = 0;
  rain_status status;
  while ((status = rain_session_read_frame(session.get(), frame.data(), width * 3, -1, &index, &latency_ms)) == RAIN_OK) frames++;
  if (status != RAIN_ERR_CLOSED) rain::check(status, "read");

  std::printf("%lld frames of %dx%d from %d poses (Rain.Engine %s)\n", static_cast<long long>(frames), width, height, poses, rain_version());
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
