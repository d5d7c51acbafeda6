// The Decoder every binary structure is parsed with, driven by a random sequence of reads,
// and the hex parsers ids and key files go through.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_util.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::vector<uint8_t> ops = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 32));
  std::vector<uint8_t> rest = fdp.ConsumeRemainingBytes<uint8_t>();
  Decoder dec{ByteView(rest)};
  for (uint8_t op : ops) {
    size_t before = dec.remaining();
    bool ok = true;
    switch (op % 8) {
      case 0: ok = dec.U8().ok(); break;
      case 1: ok = dec.U32().ok(); break;
      case 2: ok = dec.U64().ok(); break;
      case 3: {
        Result<uint64_t> v = dec.Varint();
        ok = v.ok();
        if (ok) {  // what we decode, we encode back to a decodable varint of the same value
          Encoder enc;
          enc.Varint(*v);
          Decoder d2{ByteView(enc.buffer())};
          Result<uint64_t> w = d2.Varint();
          FUZZ_CHECK(w.ok() && *w == *v && d2.done());
          FUZZ_CHECK(enc.buffer().size() <= before - dec.remaining());
        }
        break;
      }
      case 4: {
        Result<int64_t> v = dec.SignedVarint();
        ok = v.ok();
        if (ok) {
          Encoder enc;
          enc.SignedVarint(*v);
          Decoder d2{ByteView(enc.buffer())};
          Result<int64_t> w = d2.SignedVarint();
          FUZZ_CHECK(w.ok() && *w == *v && d2.done());
        }
        break;
      }
      case 5: ok = dec.Raw(op >> 3).ok(); break;
      case 6: {
        Result<std::string> s = dec.Str(op >> 3);
        ok = s.ok();
        if (ok) FUZZ_CHECK(s->size() <= static_cast<size_t>(op >> 3));
        break;
      }
      case 7: ok = dec.GetId().ok(); break;
    }
    FUZZ_CHECK(dec.remaining() <= before);
    if (!ok) break;
  }
  std::string_view text = AsString(ByteView(rest));
  Result<Bytes> hex = FromHex(text);
  if (hex.ok()) FUZZ_CHECK(hex->size() * 2 == text.size());
  Result<Id> id = Id::FromHex(text);
  if (id.ok()) FUZZ_CHECK(text.size() == 64);
  return 0;
}
