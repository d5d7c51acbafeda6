// cairn scrub: check the repository's structure, and with --read-data (a subset, or a rotating
// --budget) its bytes; --status says how recently every pack's data was verified.
#include <iostream>

#include "cli/context.h"
#include "repo/retention.h"
#include "repo/scrub.h"

namespace cairn::cli {

namespace {
constexpr int64_t kSecondNs = 1000000000;

struct ScrubFlags {
  bool read_data = false;
  std::string subset, budget, every;
  bool status = false;
  int threads = 0;
};

nlohmann::json CountJson(const ScrubAgeCount& c) { return {{"packs", c.packs}, {"bytes", c.bytes}}; }

std::string CountText(const ScrubAgeCount& c) {
  return std::to_string(c.packs) + " packs (" + HumanBytes(c.bytes) + ")";
}

// A budget --budget accepts, rounded up to whole MiB.
std::string BudgetSpec(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + "MiB"; }

int PrintStatus(const ScrubStatus& st, const std::string& every) {
  CliReporter reporter("scrub");
  for (const std::string& p : st.problems) reporter.Notice("scrub state", p + " (ignored)");
  double rate = st.last_run_ns > 0 ? static_cast<double>(st.last_run_bytes) * kSecondNs / st.last_run_ns : 0;
  if (Globals().json) {
    nlohmann::json packs = nlohmann::json::array();
    for (const PackStatus& p : st.packs)
      packs.push_back({{"pack", p.pack.Hex()}, {"size", p.size_bytes},
                       {"verified_ns", p.check.time_ns}, {"damaged", p.check.damaged}});
    nlohmann::json j = {{"now_ns", st.now_ns}, {"total", CountJson(st.total)},
                        {"within_1d", CountJson(st.within_1d)}, {"within_7d", CountJson(st.within_7d)},
                        {"within_30d", CountJson(st.within_30d)}, {"never", CountJson(st.never)},
                        {"damaged", CountJson(st.damaged)}, {"oldest_ns", st.oldest_ns},
                        {"last_run", {{"at_ns", st.last_run_at_ns}, {"bytes", st.last_run_bytes},
                                      {"read_ns", st.last_run_ns}}},
                        {"packs", packs}};
    if (st.every_ns > 0)
      j["every"] = {{"every_ns", st.every_ns}, {"met", st.meets_every}, {"overdue", CountJson(st.overdue)},
                    {"daily_budget_bytes", st.daily_budget_bytes}};
    PrintJson(j);
  } else {
    std::cout << "packs:                   " << CountText(st.total) << "\n"
              << "verified within 1 day:   " << CountText(st.within_1d) << "\n"
              << "verified within 7 days:  " << CountText(st.within_7d) << "\n"
              << "verified within 30 days: " << CountText(st.within_30d) << "\n"
              << "never verified:          " << CountText(st.never) << "\n"
              << "damaged at last check:   " << CountText(st.damaged) << "\n"
              << "oldest verification:     "
              << (st.oldest_ns ? FormatTime(st.oldest_ns) : std::string("none")) << "\n";
    if (st.last_run_at_ns)
      std::cout << "last data check:         " << FormatTime(st.last_run_at_ns) << ", read "
                << HumanBytes(st.last_run_bytes) << " at " << HumanBytes(static_cast<uint64_t>(rate))
                << "/s\n";
    if (st.every_ns > 0) {
      std::cout << "every byte verified within " << every << ": "
                << (st.meets_every ? "yes" : "no, " + CountText(st.overdue) + " not verified within it")
                << "\n"
                << "to keep it, once a day:  cairn scrub --budget " << BudgetSpec(st.daily_budget_bytes);
      if (rate > 0)
        std::cout << "  (about " << static_cast<int64_t>(st.daily_budget_bytes / rate / 60) + 1
                  << " min at the last run's speed)";
      std::cout << "\n";
      if (!st.meets_every)
        std::cout << "to catch up, once:       cairn scrub --budget " << BudgetSpec(st.overdue.bytes) << "\n";
    }
  }
  return st.damaged.packs ? kExitDamage : kExitOk;
}

int RunStatus(const ScrubFlags& f) {
  int64_t every_ns = 0;
  if (!f.every.empty()) {
    Result<int64_t> every = ParseDurationNs(f.every);
    if (!every.ok()) return Fail(every.status().WithContext("--every"));
    every_ns = *every;
  }
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<ScrubStatus> st = GetScrubStatus(repo->get(), 0, every_ns);
  if (!st.ok()) return Fail(st.status().WithContext("scrub status"));
  return PrintStatus(*st, f.every);
}

int RunScrub(const ScrubFlags& f) {
  if (f.status) return RunStatus(f);
  ScrubOptions options;
  options.read_data = f.read_data;
  options.threads = f.threads;
  if (!f.subset.empty()) {
    Status s = ParseDataSubset(f.subset, &options);
    if (!s.ok()) return Fail(s);
  }
  if (!f.budget.empty()) {
    Status s = ParseScrubBudget(f.budget, &options);
    if (!s.ok()) return Fail(s);
  }
  bool budgeted = options.budget_bytes > 0 || options.budget_ns > 0;
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  CliReporter reporter("scrub");
  Result<ScrubReport> r = Scrub(repo->get(), options, &reporter);
  reporter.Done();
  if (!r.ok()) return Fail(r.status().WithContext("scrub could not run"));
  double seconds = static_cast<double>(r->read_ns) / kSecondNs;
  if (Globals().json) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& x : r->findings)
      findings.push_back({{"damage", x.damage}, {"object", x.object}, {"problem", x.problem},
                          {"affected", x.affected}});
    PrintJson({{"snapshots", r->snapshots}, {"trees", r->trees},
               {"blobs_referenced", r->blobs_referenced}, {"packs", r->packs},
               {"bytes_stored", r->bytes_stored}, {"packs_read", r->packs_read},
               {"blobs_read", r->blobs_read}, {"bytes_read", r->bytes_read},
               {"read_seconds", seconds}, {"state_object", r->state_object},
               {"state_problem", r->state_problem}, {"damaged", r->damaged()},
               {"findings", findings}});
  } else {
    for (const Finding& x : r->findings) {
      std::cout << (x.damage ? "DAMAGE  " : "notice  ") << x.object << ": " << x.problem << "\n";
      for (const std::string& a : x.affected) std::cout << "          " << a << "\n";
    }
    if (!Globals().quiet) {
      std::cout << "checked " << r->snapshots << " snapshots, " << r->trees << " trees, "
                << r->blobs_referenced << " blobs, " << r->packs << " packs";
      if (options.read_data)
        std::cout << "; read " << r->packs_read << " packs (" << HumanBytes(r->bytes_read) << " of "
                  << HumanBytes(r->bytes_stored) << ", " << r->blobs_read << " blobs authenticated) in "
                  << static_cast<int64_t>(seconds + 0.5) << " s";
      std::cout << "\n" << (r->damaged() ? "DAMAGE FOUND" : "no damage found") << "\n";
    }
  }
  if (!r->state_problem.empty())
    reporter.Problem("scrub state", Status::IOError("could not record the packs verified: " + r->state_problem +
                                                    (budgeted ? " (the next run will read them again)" : "")));
  if (r->damaged()) return kExitDamage;
  // A rotating scrub that cannot record its progress would read the same packs forever.
  return budgeted && !r->state_problem.empty() ? kExitFailure : kExitOk;
}
}  // namespace

void RegisterScrub(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ScrubFlags>();
  CLI::App* cmd = app.add_subcommand("scrub", "Check the repository for damage");
  auto* read = cmd->add_flag("--read-data", f->read_data, "Read every pack and authenticate every blob");
  auto* subset = cmd->add_option("--read-data-subset", f->subset,
                                 "Read a part: N/M (e.g. 3/7, stable across runs) or P% (e.g. 10%)");
  auto* budget = cmd->add_option(
      "--budget", f->budget,
      "Rotating scrub: read the least recently verified packs until this size (20GiB, 500M) or "
      "time (30m, 2h) is used; the next run continues from there");
  auto* status = cmd->add_flag("--status", f->status,
                               "Say when the packs' data was last verified (checks nothing)");
  cmd->add_option("--every", f->every,
                  "With --status: is every byte verified within this (30d, 2w), and what daily "
                  "--budget keeps it so")
      ->needs(status);
  budget->excludes(read)->excludes(subset);
  status->excludes(read)->excludes(subset)->excludes(budget);
  cmd->add_option("--threads", f->threads, "Worker threads (default: one per core, plus two)");
  cmd->callback([f, exit_code] { *exit_code = RunScrub(*f); });
}

}  // namespace cairn::cli
