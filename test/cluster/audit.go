package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// auditPolicy logs every request at Metadata level. RequestReceived is omitted
// because every request also gets a later stage, which halves the log volume.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
- RequestReceived
rules:
- level: Metadata
`

type auditEvent struct {
	AuditID string `json:"auditID"`
	Stage   string `json:"stage"`
	Verb    string `json:"verb"`
	User    struct {
		Username string `json:"username"`
	} `json:"user"`
}

// CountAuditRequests counts the requests in a JSON-lines audit log made by user
// (all users when empty), by verb. With verbs given, only those are counted.
// A request is counted once even if it was logged at several stages (a watch has
// ResponseStarted and ResponseComplete).
func CountAuditRequests(auditLogPath string, user string, verbs ...string) (map[string]int, error) {
	if auditLogPath == "" {
		return nil, errors.New("no audit log: start the cluster with Options.AuditLog")
	}
	f, err := os.Open(auditLogPath)
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	defer f.Close()
	return countAuditRequests(f, user, verbs...)
}

func countAuditRequests(r io.Reader, user string, verbs ...string) (map[string]int, error) {
	want := map[string]bool{}
	for _, v := range verbs {
		want[v] = true
	}
	counts := map[string]int{}
	for _, v := range verbs {
		counts[v] = 0
	}
	seen := map[string]bool{}

	br := bufio.NewReaderSize(r, 256*1024)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			complete := line[len(line)-1] == '\n'
			var ev auditEvent
			if jerr := json.Unmarshal(line, &ev); jerr != nil {
				// The API server may be in the middle of appending the last line.
				if !complete {
					break
				}
				return nil, fmt.Errorf("audit log line %d: %w", lineNo, jerr)
			}
			if (user == "" || ev.User.Username == user) && (len(want) == 0 || want[ev.Verb]) {
				if ev.AuditID == "" || !seen[ev.AuditID] {
					if ev.AuditID != "" {
						seen[ev.AuditID] = true
					}
					counts[ev.Verb]++
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading audit log: %w", err)
		}
	}
	return counts, nil
}
