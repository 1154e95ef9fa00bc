#!/bin/bash
# Measures `earshot tune` on one voice of the evaluation corpus (scripts/make-eval-corpus.mjs): enrols the voice
# from its 3 enrolment clips (enrol/, not the test clips) into a throwaway data directory, then counts the voice's
# test clips detected and the word's near-miss fires (all voices) with the base model, with the owner's verifier
# at the default settings, and after `earshot tune --apply`.
#
#   npm run build && scripts/measure-tune.sh hey_jarvis flite-rms [CORPUS_DIR]
#
# Prints one line per setup ("hits/clips clips, N fires") and tune's JSON. Nothing is written outside a temp dir.
set -eu
W=${1:?wake word}
V=${2:?voice, e.g. flite-rms}
CORPUS=${3:-.corpus}
CLI="node $(dirname "$0")/../dist/cli/main.js"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
export EARSHOT_DATA_DIR=$D/data EARSHOT_CONFIG=
$CLI init >/dev/null
O=$($CLI owners add --name "Measure")
$CLI enroll --owner "$O" --wakeword "$W" "$CORPUS/enrol/$W/${W}__${V}__enrol"{1,2,3}.wav --json 2>/dev/null
count() { # files, extra detect args → clips with at least one detection of the word, and all its fires
  local hits=0 fires=0 n=0 k
  for f in $1; do
    n=$((n + 1))
    k=$($CLI detect "$f" --wakeword "$W" $2 --json 2>/dev/null | grep -c "\"$W\"" || true)
    fires=$((fires + k))
    if [ "$k" -gt 0 ]; then hits=$((hits + 1)); fi
  done
  echo "$hits/$n clips, $fires fires"
}
POS=$(ls "$CORPUS/positives/$W/${W}__${V}__"*.wav)
case $W in
  hey_jarvis) NM=$(ls "$CORPUS"/negatives/nearmiss/hey-{jar,jealous,charges,service,travis}__*.wav) ;;
  alexa) NM=$(ls "$CORPUS"/negatives/nearmiss/{a-lexus,alexis,alexander,electra,unless-a}__*.wav) ;;
  *) NM=$(ls "$CORPUS"/negatives/nearmiss/hey-{microsoft,minecraft,my-car,my-crop}__*.wav) ;;
esac
echo "positives, base model:          $(count "$POS" "")"
echo "positives, verifier (default):  $(count "$POS" "--owner $O")"
echo "near misses, base model:        $(count "$NM" "")"
echo "near misses, verifier (default): $(count "$NM" "--owner $O")"
$CLI tune --wakeword "$W" --owner "$O" --apply --json 2>/dev/null
echo "positives, verifier (tuned):    $(count "$POS" "--owner $O")"
echo "near misses, verifier (tuned):  $(count "$NM" "--owner $O")"
