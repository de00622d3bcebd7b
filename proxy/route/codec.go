package route

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Encode is a table as it travels: the JSON a route-table ConfigMap holds
// under DataKey, and the file `ebb gateway --routes` reads.
func Encode(t Table) ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	return b, nil
}

// Decode reads a table Encode wrote. A field it does not know is an
// error, not skipped: a table is served as written or not at all, so a
// gateway older than the controller keeps its last good table rather than
// serve one without a rule it cannot read.
func Decode(b []byte) (Table, error) {
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return Table{}, err
	}
	// Unmarshal says what is wrong with the JSON itself; the decoder
	// names a field the table does not have.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&Table{}); err != nil {
		return Table{}, err
	}
	return t, nil
}
