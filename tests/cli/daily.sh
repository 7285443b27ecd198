#!/usr/bin/env bash
# daily.sh - daily entries and their year/month indexes; open runs the editor.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init fresh >/dev/null
case "$(cd fresh && "$DIARYX" today </dev/null)" in
daily/*) pass ;;
*) fail "without configuration, daily entries go to daily/" ;;
esac
(cd fresh && "$DIARYX" validate) | grep -q "0 errors, 0 warnings" && pass || fail "a fresh workspace with a daily entry validates without warnings"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" config daily_entry_folder journal >/dev/null
today=$(date +%Y-%m-%d)
y=${today:0:4}
m=${today:5:2}
same "today prints the path" "$("$DIARYX" today </dev/null)" "journal/$y/$m/$today.md"
[ -f "journal/$y/$m/$today.md" ] && pass || fail "entry created"
contains "daily index in root" README.md "(/journal/daily_index.md)"
contains "year index" "journal/$y/${y}_index.md" "title: \"$y\""
contains "entry date" "journal/$y/$m/$today.md" "date: \"$today\""
echo "my words" >>"journal/$y/$m/$today.md"
"$DIARYX" today </dev/null >/dev/null
contains "existing entry never overwritten" "journal/$y/$m/$today.md" "my words"
check "yesterday" "$DIARYX" yesterday --no-edit
check "valid" "$DIARYX" validate

# open DATE creates the entry and runs the editor on it.
export EDITOR="sh -c 'echo edited >>\"\$0\"'"
check "open a date" "$DIARYX" open 2024-02-29
contains "editor ran on the entry" journal/2024/02/2024-02-29.md "edited"
contains "month title" journal/2024/02/2024_february.md "title: February 2024"
contains "entry title" journal/2024/02/2024-02-29.md "title: February 29, 2024"
check_rc "invalid date" 1 "$DIARYX" open 2023-02-29
contains "invalid date explained" "$T/.err" "not a valid date"
finish
