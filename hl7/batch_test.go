package hl7_test

import (
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

func msh(id string) string {
	return "MSH|^~\\&|A|B|||20240101||ADT^A01|" + id + "|P|2.5\rPID|1||" + id + "\r"
}

func TestSplitBatch(t *testing.T) {
	file := "FHS|^~\\&|A\rBHS|^~\\&|A\r" + msh("1") + msh("2") + "BTS|2\rBHS|^~\\&|A\r" + msh("3") + "BTS|1\rFTS|2\r"
	b, err := hl7.SplitBatch([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Batches) != 2 || b.FileHeader == nil || b.FileTrailer == nil {
		t.Fatalf("%d batches", len(b.Batches))
	}
	var ids []string
	for _, raw := range b.Messages() {
		m, err := hl7.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Header().ControlID)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Errorf("ids %v", ids)
	}

	plain, err := hl7.SplitBatch([]byte(strings.ReplaceAll(msh("1")+msh("2"), "\r", "\r\n") + "\r\n"))
	if err != nil || len(plain.Messages()) != 2 {
		t.Fatalf("back-to-back messages: %v", err)
	}
	single, err := hl7.SplitBatch([]byte(msh("9")))
	if err != nil || len(single.Messages()) != 1 {
		t.Fatalf("single message: %v", err)
	}
}

func TestSplitBatchCountsChecked(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"BTS count":     {"BHS|^~\\&\r" + msh("1") + "BTS|2\r", "BTS-1 says 2 messages, the batch holds 1"},
		"FTS count":     {"FHS|^~\\&\rBHS|^~\\&\r" + msh("1") + "BTS|1\rFTS|3\r", "FTS-1 says 3 batches"},
		"missing BTS":   {"BHS|^~\\&\r" + msh("1"), "no BTS"},
		"missing FTS":   {"FHS|^~\\&\rBHS|^~\\&\r" + msh("1") + "BTS|1\r", "no FTS"},
		"stray segment": {"PID|1\r" + msh("1"), "outside any message"},
		"after FTS":     {"FHS|^~\\&\r" + msh("1") + "FTS|1\r" + msh("2"), "after FTS"},
		"empty":         {"\r\n", "no message"},
	} {
		_, err := hl7.SplitBatch([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
