#!/usr/bin/env bash
# The living loop of this review, one step after another. The workflow
# .github/workflows/living-update.yml runs it every week and on demand; run it by hand the same way.
#   1. evsynth update    searches every query of queries/ since its last run (a query whose version
#                        was raised: its whole date range) and adds the new records to the screening
#                        log as pending; the NCBI key is read from NCBI_API_KEY and never written
#   2. evsynth build     rebuilds reports/ offline (it fails if a registered claim no longer holds)
#   3. evsynth changes   writes what changed to BODY (Markdown): the searches, the records to screen,
#                        every study added and figure moved; the pull request's text
# Nothing is screened, curated or released here: a person does that after reading BODY.
# Usage: .github/living-update.sh BODY.md     (EVSYNTH: the command to run, default: evsynth)
set -euo pipefail
body=$(realpath -m "${1:?usage: living-update.sh BODY.md}")
cd "$(dirname "$0")/.."
evsynth=${EVSYNTH:-evsynth}
$evsynth update
$evsynth build
$evsynth changes --title "Living update $(date -u +%Y-%m-%d)" --output "$body"
echo "pull request text written to $body"
