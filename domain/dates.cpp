// Date and instant parsing/formatting without locale or time zone database.
#include "domain/dates.hpp"

#include <cstdio>

namespace bedbank::domain {

namespace {

bool digits(std::string_view s, int& out) {
  if (s.empty())
    return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::optional<day> make_day(int y, int m, int d) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)},
                     std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;
  return static_cast<day>(sys_days{ymd}.time_since_epoch().count());
}

} // namespace

std::optional<day> parse_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-')
    return std::nullopt;
  int y, m, d;
  if (!digits(t.substr(0, 4), y) || !digits(t.substr(5, 2), m) || !digits(t.substr(8, 2), d))
    return std::nullopt;
  if (y < 1970 || y > 9999)
    return std::nullopt;
  return make_day(y, m, d);
}

std::string format_date(day d) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{days{d}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

day today_utc() {
  using namespace std::chrono;
  return static_cast<day>(floor<days>(system_clock::now()).time_since_epoch().count());
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_instant_us(int64_t us) {
  using namespace std::chrono;
  int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  int64_t rem_us = us - secs * 1000000;
  auto dp = floor<days>(sys_seconds{seconds{secs}});
  year_month_day ymd{dp};
  int64_t sod = secs - dp.time_since_epoch().count() * 86400;
  // Written by hand: this runs for every cancellation policy of every answer.
  char buf[24] = "0000-00-00T00:00:00.000";
  auto put = [&](int pos, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[pos + i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, static_cast<int>(ymd.year()), 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, sod / 3600, 2);
  put(14, sod / 60 % 60, 2);
  put(17, sod % 60, 2);
  put(20, rem_us / 1000, 3);
  std::string out{buf, 23};
  out += 'Z';
  return out;
}

std::optional<int64_t> parse_instant_us(std::string_view t) {
  if (t.size() < 20 || t[10] != 'T' || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto d = parse_date(t.substr(0, 10));
  int hh, mm, ss;
  if (!d || !digits(t.substr(11, 2), hh) || !digits(t.substr(14, 2), mm) ||
      !digits(t.substr(17, 2), ss) || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  size_t i = 19;
  int64_t frac_us = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      frac_us += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start)
      return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
    int oh, om;
    if (!digits(t.substr(i + 1, 2), oh) || !digits(t.substr(i + 4, 2), om))
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (t[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size())
    return std::nullopt;
  int64_t secs = static_cast<int64_t>(*d) * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
  return secs * 1000000 + frac_us;
}

} // namespace bedbank::domain
