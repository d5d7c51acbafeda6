// cairn scrub: check the repository's structure, and with --read-data its bytes.
#include <iostream>

#include "cli/context.h"
#include "repo/scrub.h"

namespace cairn::cli {

namespace {
struct ScrubFlags {
  bool read_data = false;
  std::string subset;
  int threads = 0;
};

int RunScrub(const ScrubFlags& f) {
  ScrubOptions options;
  options.read_data = f.read_data;
  options.threads = f.threads;
  if (!f.subset.empty()) {
    Status s = ParseDataSubset(f.subset, &options);
    if (!s.ok()) return Fail(s);
  }
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  CliReporter reporter("scrub");
  Result<ScrubReport> r = Scrub(repo->get(), options, &reporter);
  reporter.Done();
  if (!r.ok()) return Fail(r.status().WithContext("scrub could not run"));
  if (Globals().json) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& x : r->findings)
      findings.push_back({{"damage", x.damage}, {"object", x.object}, {"problem", x.problem},
                          {"affected", x.affected}});
    PrintJson({{"snapshots", r->snapshots}, {"trees", r->trees},
               {"blobs_referenced", r->blobs_referenced}, {"packs", r->packs},
               {"packs_read", r->packs_read}, {"blobs_read", r->blobs_read},
               {"bytes_read", r->bytes_read}, {"damaged", r->damaged()}, {"findings", findings}});
  } else {
    for (const Finding& x : r->findings) {
      std::cout << (x.damage ? "DAMAGE  " : "notice  ") << x.object << ": " << x.problem << "\n";
      for (const std::string& a : x.affected) std::cout << "          " << a << "\n";
    }
    if (!Globals().quiet) {
      std::cout << "checked " << r->snapshots << " snapshots, " << r->trees << " trees, "
                << r->blobs_referenced << " blobs, " << r->packs << " packs";
      if (options.read_data)
        std::cout << "; read " << r->packs_read << " packs (" << HumanBytes(r->bytes_read) << ", "
                  << r->blobs_read << " blobs authenticated)";
      std::cout << "\n" << (r->damaged() ? "DAMAGE FOUND" : "no damage found") << "\n";
    }
  }
  return r->damaged() ? kExitDamage : kExitOk;
}
}  // namespace

void RegisterScrub(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ScrubFlags>();
  CLI::App* cmd = app.add_subcommand("scrub", "Check the repository for damage");
  cmd->add_flag("--read-data", f->read_data, "Read every pack and authenticate every blob");
  cmd->add_option("--read-data-subset", f->subset,
                  "Read a part: N/M (e.g. 3/7, stable across runs) or P% (e.g. 10%)");
  cmd->add_option("--threads", f->threads, "Worker threads (default: one per core)");
  cmd->callback([f, exit_code] { *exit_code = RunScrub(*f); });
}

}  // namespace cairn::cli
