from tests.examples import fdl2


def test_a_sheet_goes_from_the_plie_to_the_agency_and_back(api):
    sent = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
    assert sent.status_code == 201, sent.json
    inbox = api["referent"].get("/api/v1/sheets?box=inbox").json
    assert [item["id"] for item in inbox["sheets"]] == [sent.json["id"]]
