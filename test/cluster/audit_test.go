package cluster

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func auditLine(id, stage, verb, user string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id +
		`","stage":"` + stage + `","requestURI":"/api/v1/pods","verb":"` + verb +
		`","user":{"username":"` + user + `","groups":["system:authenticated"]}}`
}

func writeAuditLog(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCountAuditRequests(t *testing.T) {
	const ctrl = "system:serviceaccount:kyma-system:function-controller"
	path := writeAuditLog(t,
		auditLine("1", "ResponseComplete", "create", ctrl),
		auditLine("2", "ResponseComplete", "update", ctrl),
		auditLine("3", "ResponseComplete", "update", ctrl),
		// A watch is logged when it starts and again when it ends.
		auditLine("4", "ResponseStarted", "watch", ctrl),
		auditLine("4", "ResponseComplete", "watch", ctrl),
		auditLine("5", "ResponseComplete", "get", "someone-else"),
		"",
		auditLine("6", "ResponseComplete", "patch", ctrl)+"\n",
	)

	got, err := CountAuditRequests(path, ctrl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"create": 1, "update": 2, "watch": 1, "patch": 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("all verbs: got %v, want %v", got, want)
	}

	got, err = CountAuditRequests(path, ctrl, "update", "delete")
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"update": 2, "delete": 0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filtered verbs: got %v, want %v", got, want)
	}

	got, err = CountAuditRequests(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if got["get"] != 1 || got["update"] != 2 {
		t.Fatalf("all users: got %v", got)
	}
}

func TestCountAuditRequestsToleratesPartialLastLine(t *testing.T) {
	full := auditLine("1", "ResponseComplete", "create", "u")
	path := writeAuditLog(t, full, full[:40])
	got, err := CountAuditRequests(path, "u")
	if err != nil {
		t.Fatal(err)
	}
	if got["create"] != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestCountAuditRequestsRejectsCorruptLines(t *testing.T) {
	path := writeAuditLog(t, "not json", auditLine("1", "ResponseComplete", "create", "u"))
	if _, err := CountAuditRequests(path, "u"); err == nil {
		t.Fatal("expected an error for a corrupt line")
	}
}

func TestCountAuditRequestsWithoutLog(t *testing.T) {
	if _, err := CountAuditRequests("", "u"); err == nil {
		t.Fatal("expected an error when auditing is off")
	}
}
