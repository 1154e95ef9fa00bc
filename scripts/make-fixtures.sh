#!/usr/bin/env bash
# Generates Earshot's audio fixtures (16 kHz mono s16 WAV) with espeak-ng and sox.
#
#   bash scripts/make-fixtures.sh [OUT_DIR]      (default: test/fixtures)
#
# Output:
#   wake/<word>__<voice>.wav   lead-in of quiet room noise, the wake phrase, a short command
#   nearmiss/<name>.wav        phrases that sound close to a wake word and must not fire
#   scenario.wav + scenario.json  the demo: background talk with a 1 kHz marker tone, wake + command, a
#                              near miss, more talk, a second wake + command; the JSON is the timeline
#
# Negative speech (several minutes) is not committed: tests synthesise scripts/fixtures-negative.txt into a
# cache under the OS temp dir (test/wakeword/negative-speech.ts).
#
# Deterministic: espeak-ng output is deterministic for a given version, and sox runs with -R (repeatable
# dither/noise). Voices, speeds and levels below were checked against the hey_jarvis/alexa/hey_mycroft models
# (see test/fixtures/MEASUREMENTS.md).
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/test/fixtures}"
command -v espeak-ng >/dev/null || { echo "make-fixtures: espeak-ng is required" >&2; exit 1; }
command -v sox >/dev/null || { echo "make-fixtures: sox is required" >&2; exit 1; }
mkdir -p "$OUT/wake" "$OUT/nearmiss"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

FMT=(-r 16000 -c 1 -b 16 -e signed-integer)

# say OUT.wav VOICE SPEED PITCH "text" [gain dB]: speech normalised to -3 dBFS (+ optional gain).
say() {
  local out="$1" voice="$2" speed="$3" pitch="$4" text="$5" gain="${6:-0}"
  espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$TMP/raw.wav" "$text"
  sox -R "$TMP/raw.wav" "${FMT[@]}" "$out" norm -3 gain "$gain"
}
# room OUT.wav SECONDS: quiet room noise (pink, about -60 dBFS) so files never start with digital silence.
room() {
  sox -R -n "${FMT[@]}" "$1" synth "$2" pinknoise vol 0.002
}
# silence OUT.wav SECONDS
silence() {
  sox -R -n "${FMT[@]}" "$1" trim 0 "$2"
}
dur() { soxi -D "$1"; }
ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 + 0.5 }'; }

# ---- wake phrases by several voices -------------------------------------------------------------
# voice|speed|pitch|label
WAKE_VOICES=(
  "en-us|150|50|en-us"
  "en-gb|150|50|en-gb"
  "en+f3|150|60|en-f3"
  "en-us+m7|140|40|en-us-m7"
)
make_wake() { # word label voice speed pitch phrase command
  local word="$1" label="$2" voice="$3" speed="$4" pitch="$5" phrase="$6" command="$7"
  room "$TMP/lead.wav" 2.4
  say "$TMP/phrase.wav" "$voice" "$speed" "$pitch" "$phrase"
  silence "$TMP/gap.wav" 0.15
  say "$TMP/cmd.wav" "$voice" "$speed" "$pitch" "$command"
  room "$TMP/tail.wav" 0.4
  sox -R "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/gap.wav" "$TMP/cmd.wav" "$TMP/tail.wav" "${FMT[@]}" "$OUT/wake/${word}__${label}.wav"
}
for v in "${WAKE_VOICES[@]}"; do
  IFS='|' read -r voice speed pitch label <<<"$v"
  make_wake hey_jarvis "$label" "$voice" "$speed" "$pitch" "hey jarvis" "what's the weather tomorrow"
done
make_wake alexa en-us en-us 150 50 "alexa" "turn on the kitchen lights"
# espeak-ng says "mycroft" as one unfamiliar word; spelled as two words it sounds like the real phrase.
make_wake hey_mycroft en-us en-us 150 50 "hey my croft" "what time is it"

# ---- near misses --------------------------------------------------------------------------------
make_near() { # name voice phrase
  room "$TMP/lead.wav" 2.4
  say "$TMP/phrase.wav" "$2" 150 50 "$3"
  room "$TMP/tail.wav" 0.6
  sox -R "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/tail.wav" "${FMT[@]}" "$OUT/nearmiss/$1.wav"
}
make_near hey_travis en-us "hey travis, what's the weather tomorrow"
make_near hey_service en-gb "hey service, can you call me back"

# ---- demo scenario ------------------------------------------------------------------------------
# Background conversation is two voices at a lower level; the wake phrases are spoken "to the device".
BG_GAIN=-8
segments=()   # "file|kind|label|text"
add() { segments+=("$1|$2|$3|$4"); }
n=0
# seg: sets $f to the next segment file (no subshell, so the counter survives).
seg() { n=$((n + 1)); f="$TMP/seg$n.wav"; }

seg; room "$f" 2.4; add "$f" room "" ""
seg; say "$f" en-gb 160 45 "so I told him the meeting had moved to thursday, and he said that was fine" "$BG_GAIN"; add "$f" background A "so I told him the meeting had moved to thursday, and he said that was fine"
seg; silence "$f" 0.3; add "$f" pause "" ""
# The marker: 1 kHz, 0.5 s, mixed into the middle of a background sentence.
seg; say "$TMP/bgm.wav" en-us+m3 160 40 "right, and did anyone book the room for the presentation, or should I do it now" "$BG_GAIN"
sox -R -n "${FMT[@]}" "$TMP/tone.wav" synth 0.5 sine 1000 vol 0.25 fade 0.01 0.5 0.01
MARK_AT=1.2
sox -R "$TMP/tone.wav" "${FMT[@]}" "$TMP/tone_padded.wav" pad "$MARK_AT" 0
sox -R -m "$TMP/bgm.wav" "$TMP/tone_padded.wav" "${FMT[@]}" "$f"
add "$f" background-marker B "right, and did anyone book the room for the presentation, or should I do it now"
seg; silence "$f" 0.8; add "$f" pause "" ""
seg; say "$f" en-us 150 50 "hey jarvis"; add "$f" wake hey_jarvis "hey jarvis"
seg; silence "$f" 0.15; add "$f" pause "" ""
seg; say "$f" en-us 150 50 "what's the weather like tomorrow morning"; add "$f" command hey_jarvis "what's the weather like tomorrow morning"
seg; room "$f" 2.0; add "$f" room "" ""
seg; say "$f" en-gb 150 50 "hey travis, are you coming to dinner tonight"; add "$f" nearmiss "" "hey travis, are you coming to dinner tonight"
seg; silence "$f" 0.6; add "$f" pause "" ""
seg; say "$f" en-gb 160 45 "I think he is, he said he would bring dessert and maybe some wine as well" "$BG_GAIN"; add "$f" background A "I think he is, he said he would bring dessert and maybe some wine as well"
seg; silence "$f" 0.3; add "$f" pause "" ""
seg; say "$f" en-us+m3 160 40 "great, then we only need bread and something for the salad" "$BG_GAIN"; add "$f" background B "great, then we only need bread and something for the salad"
seg; room "$f" 1.5; add "$f" room "" ""
seg; say "$f" en+f3 150 60 "hey jarvis"; add "$f" wake hey_jarvis "hey jarvis"
seg; silence "$f" 0.15; add "$f" pause "" ""
seg; say "$f" en+f3 150 60 "add bread and tomatoes to the shopping list"; add "$f" command hey_jarvis "add bread and tomatoes to the shopping list"
seg; room "$f" 2.5; add "$f" room "" ""

files=()
json_segments=""
json_wakes=""
wake_start=""
t=0
for s in "${segments[@]}"; do
  IFS='|' read -r file kind label text <<<"$s"
  files+=("$file")
  d=$(dur "$file")
  start=$(ms "$t"); t=$(awk -v a="$t" -v b="$d" 'BEGIN { printf "%.6f", a + b }'); end=$(ms "$t")
  # Expected detection: after the wake phrase starts, before its command ends.
  [[ "$kind" == wake ]] && wake_start=$start
  if [[ "$kind" == command ]]; then
    json_wakes="$json_wakes${json_wakes:+,
    }{\"wakeword\":\"$label\",\"afterMs\":$wake_start,\"beforeMs\":$end}"
  fi
  if [[ "$kind" != room && "$kind" != pause ]]; then
    entry="{\"kind\":\"$kind\",\"startMs\":$start,\"endMs\":$end"
    [[ -n "$label" ]] && entry="$entry,\"label\":\"$label\""
    [[ -n "$text" ]] && entry="$entry,\"text\":\"$text\""
    if [[ "$kind" == background-marker ]]; then
      mark=$(ms "$(awk -v a="$start" -v m="$MARK_AT" 'BEGIN { printf "%.6f", a / 1000 + m }')")
      entry="$entry,\"marker\":{\"startMs\":$mark,\"endMs\":$((mark + 500)),\"hz\":1000}"
    fi
    json_segments="$json_segments${json_segments:+,
    }$entry}"
  fi
done
sox -R "${files[@]}" "${FMT[@]}" "$OUT/scenario.wav"
total=$(ms "$(dur "$OUT/scenario.wav")")
cat >"$OUT/scenario.json" <<EOF
{
  "description": "Demo scenario generated by scripts/make-fixtures.sh: background talk (with a 1 kHz marker tone before the first wake word), wake phrase + command, a near miss, more talk, a second wake phrase + command. expectedWakes: each wake phrase must be detected after it starts and before its command ends; nothing else may fire.",
  "sampleRate": 16000,
  "durationMs": $total,
  "expectedWakes": [
    $json_wakes
  ],
  "segments": [
    $json_segments
  ]
}
EOF
mine=("$OUT"/scenario.wav "$OUT"/wake/*.wav "$OUT"/nearmiss/*.wav)
echo "make-fixtures: wrote ${#mine[@]} WAV files to $OUT ($(du -ch "${mine[@]}" | tail -1 | cut -f1) total)"
