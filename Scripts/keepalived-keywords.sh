#!/bin/sh
# Lists the keywords keepalived.conf(5) documents (the first bold word of each line of its
# synopsis), one per line, sorted; prose words in bold are left out. Regenerates
# Fixtures/config/keepalived-2.2.7-keywords.txt, which a test checks against Vigil's migration
# table (Sources/KeepalivedConfig/KeywordSupport.swift).
#   Scripts/keepalived-keywords.sh > Fixtures/config/keepalived-2.2.7-keywords.txt
set -eu
man_page=${1:-/usr/share/man/man5/keepalived.conf.5.gz}
zcat "$man_page" \
  | sed -n 's/^[[:space:]]*\\fB\([A-Za-z0-9_-]*\).*/\1/p' \
  | grep -v -x -E 'BFD|GLOBAL|Global|Important|LVS|NOT|Note|Static|VRRP|VRRPD|Virtual|keepalived|start|val1|' \
  | sort -u
