package datatype

import "testing"

const (
	aPT     = `"physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"`
	aDEPID  = `"assigner":{"display":"DEPID"}`
	aAUTH   = `"assigner":{"display":"AUTH"}`
	aLocHdr = `"resourceType":"Location"`
)

// PL[Location] rows PL.1-PL.4, PL.7-PL.11.
func TestPLLocation(t *testing.T) {
	aRun(t, []aCase{
		{"IG PV1-3: bed → room → point of care; PL.11 assigner on every identifier", "pl", "", "PV1-3",
			`[{` + aLocHdr + `,"identifier":[{"value":"01",` + aDEPID + `}],"mode":"instance",` + aPT + `bd"}]},
			   "partOf":{"identifier":{"value":"101",` + aDEPID + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"101",` + aDEPID + `}],"mode":"instance",` + aPT + `ro"}]},
			   "partOf":{"identifier":{"value":"EMERG",` + aDEPID + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"EMERG",` + aDEPID + `}],"mode":"instance"}]`, "", ""},
		{"every level, PL.9 description and PL.10 with PL.11 on the bed", "pl",
			"PV1|1|I|4W^401^1^GoodHosp&1.2.3&ISO^^^BldgA^4^Window bed^LOC123&EPIC^AUTH", "PV1-3",
			`[{` + aLocHdr + `,"identifier":[{"value":"1",` + aAUTH + `},{"value":"LOC123",` + aAUTH + `}],"description":"Window bed","mode":"instance",` + aPT + `bd"}]},
			   "partOf":{"identifier":{"value":"401",` + aAUTH + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"401",` + aAUTH + `}],"mode":"instance",` + aPT + `ro"}]},"partOf":{"identifier":{"value":"4",` + aAUTH + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"4",` + aAUTH + `}],"mode":"instance",` + aPT + `lvl"}]},"partOf":{"identifier":{"value":"4W",` + aAUTH + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"4W",` + aAUTH + `}],"mode":"instance","partOf":{"identifier":{"value":"GoodHosp",` + aAUTH + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"BldgA",` + aAUTH + `}],"mode":"instance",` + aPT + `bu"}]},"partOf":{"identifier":{"value":"GoodHosp",` + aAUTH + `}}},
			  {` + aLocHdr + `,"identifier":[{"value":"GoodHosp",` + aAUTH + `},{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3",` + aAUTH + `}],
			   "mode":"instance",` + aPT + `si"}]}}]`, "", ""},
		{"point of care only: one Location", "pl", "PV1|1|I|4W", "PV1-3",
			`{` + aLocHdr + `,"identifier":[{"value":"4W"}],"mode":"instance"}`, "", ""},
		{"room in a facility, no PL.11: PL.10 as EI[Identifier-Organization]", "pl", "PV1|1|I|^12^^Main^^^^^^R12&EPIC&1.2.3&ISO", "PV1-3",
			`[{` + aLocHdr + `,"identifier":[{"value":"12"},{"value":"R12","assigner":{"identifier":{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"},"display":"EPIC"}}],
			   "mode":"instance",` + aPT + `ro"}]},"partOf":{"identifier":{"value":"Main"}}},
			  {` + aLocHdr + `,"identifier":[{"value":"Main"}],"mode":"instance",` + aPT + `si"}]}}]`, "", ""},
		{"point of care HD with subcomponents and nothing else", "pl", "PV1|1|I|4W&1.2.3&ISO", "PV1-3",
			`{` + aLocHdr + `,"identifier":[{"value":"4W"},{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"}],"mode":"instance"}`, "", ""},
		{"description only", "pl", "PV1|1|I|^^^^^^^^Hallway", "PV1-3", `{` + aLocHdr + `,"description":"Hallway","mode":"instance"}`, "", ""},
		{"PL.5 and PL.6 only: none", "pl", "PV1|1|I|^^^^A^N", "PV1-3", `null`, "", ""},
		{`HL7 null`, "pl", `PV1|1|I|""`, "PV1-3", `null`, "", ""},
		{"escapes", "pl", `PV1|1|I|ICU\T\CCU`, "PV1-3", `{` + aLocHdr + `,"identifier":[{"value":"ICU&CCU"}],"mode":"instance"}`, "", ""},
	})
}
