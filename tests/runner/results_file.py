"""Reading the runner's results file (spec/results.md) in tests."""
import json

FORMAT = "mpconform-results/1"


def read_results(path):
    """The `results` entries (case × implementation) of a results file, after checking its format."""
    doc = json.loads(open(path).read())
    assert isinstance(doc, dict) and doc.get("format") == FORMAT, "not a %s file: %s" % (FORMAT, path)
    return doc["results"]


def read_document(path):
    doc = json.loads(open(path).read())
    assert isinstance(doc, dict) and doc.get("format") == FORMAT, "not a %s file: %s" % (FORMAT, path)
    return doc
