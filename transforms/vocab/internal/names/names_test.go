package names

import "testing"

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"Yes/NoIndicator":                  "yesnoindicator",
		"YesNoIndicator":                   "yesnoindicator",
		"Contact Role":                     "contactrole",
		"XPN[String]":                      "xpn[string]",
		"ResultStatus[Non-Queries]":        "resultstatus[non-queries]",
		"AllergySeverity[A.criticality-o]": "allergyseverity[acriticality-o]",
		"Test/ServiceDefaultDurationUnits": "testservicedefaultdurationunits",
		"":                                 "",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTable(t *testing.T) {
	for in, want := range map[string]string{
		"0001": "0001", "1": "0001", "HL70001": "0001", "hl70001": "0001", "HL7-0354": "0354",
		"HL0207": "0207", "v2-0004": "0004", " 0912 ": "0912",
		"http://terminology.hl7.org/CodeSystem/v2-0203": "0203",
		"": "", "HL7": "", "HL71": "", "v2-1": "", "00001": "", "12a": "", "AdministrativeSex": "", "-1": "", "v2-": "",
	} {
		got, ok := Table(in)
		if got != want || ok != (want != "") {
			t.Errorf("Table(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
