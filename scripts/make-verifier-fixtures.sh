#!/usr/bin/env bash
# Generates the household verifier's test fixtures (16 kHz mono s16 WAV) with espeak-ng, flite and sox.
#
#   bash scripts/make-verifier-fixtures.sh [OUT_DIR]      (default: test/fixtures/verifier)
#
# Output:
#   enrol/hey_jarvis__en-us__N.wav   3 enrolment clips of one voice (espeak-ng en-us at other speeds and
#                                    pitches than the wake fixture test/fixtures/wake/hey_jarvis__en-us.wav,
#                                    which is that voice's test clip)
#   nearmiss/<phrase>__<voice>.wav   near misses the base hey_jarvis model fires on at threshold 0.5
#                                    (test/verifier/veto.test.ts checks that they do)
#
# None of these phrases/speeds is in the shipped generic negatives (scripts/make-verifier-negatives.mjs uses
# 135/175 wpm and stretch 0.9/1.15, and neither "hey travis" nor "hey harvest"), so the veto tests do not
# test on training data. Deterministic like scripts/make-fixtures.sh (sox -R).
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/verifier}"
for t in espeak-ng flite sox; do command -v "$t" >/dev/null || { echo "make-verifier-fixtures: $t is required" >&2; exit 1; }; done
mkdir -p "$OUT/enrol" "$OUT/nearmiss"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FMT=(-r 16000 -c 1 -b 16 -e signed-integer)

room() { sox -R -n "${FMT[@]}" "$1" synth "$2" pinknoise vol 0.002; }
# clip OUT.wav ENGINE VOICE SPEED PITCH "text": 2.4 s of quiet room, the phrase at -3 dBFS, 0.4 s of room.
clip() {
  if [ "$2" = espeak ]; then espeak-ng -v "$3" -s "$4" -p "$5" -w "$TMP/raw.wav" "$6"; else flite -voice "$3" -t "$6" -o "$TMP/raw.wav"; fi
  sox -R "$TMP/raw.wav" "${FMT[@]}" "$TMP/phrase.wav" norm -3
  room "$TMP/lead.wav" 2.4
  room "$TMP/tail.wav" 0.4
  sox -R "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/tail.wav" "${FMT[@]}" "$1"
}

clip "$OUT/enrol/hey_jarvis__en-us__1.wav" espeak en-us 130 45 "hey jarvis"
clip "$OUT/enrol/hey_jarvis__en-us__2.wav" espeak en-us 155 60 "hey jarvis"
clip "$OUT/enrol/hey_jarvis__en-us__3.wav" espeak en-us 170 40 "hey jarvis"
clip "$OUT/nearmiss/hey_jar__en-us.wav" espeak en-us 150 50 "hey jar"
clip "$OUT/nearmiss/hey_travis__en-gb.wav" espeak en-gb 150 50 "hey travis"
clip "$OUT/nearmiss/hey_harvest__flite-slt.wav" flite slt 0 0 "hey harvest"
