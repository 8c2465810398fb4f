package importjob

import "time"

// The two deadlines of a job.
const (
	// ShipWithin: shipping must be reported within this time of the job's
	// creation.
	ShipWithin = 14 * 24 * time.Hour
	// ReceiveWithin: a drive must arrive within this time of the shipping
	// report.
	ReceiveWithin = 14 * 24 * time.Hour
)

// Deadline returns the job's pending deadline: what must happen ("report
// shipping" or "receive drives") and by when. It returns "" and the zero
// time when no deadline applies in the job's state.
func (j *Job) Deadline() (what string, at time.Time) {
	switch j.State {
	case JobCreating:
		return "report shipping", j.Created.Add(ShipWithin)
	case JobShipping:
		if j.Shipping != nil {
			return "receive drives", j.Shipping.Reported.Add(ReceiveWithin)
		}
	}
	return "", time.Time{}
}

// Expire moves the job to Expired when its deadline passed before now and
// reports whether it did. Drives of an expired shipment that never arrived
// move to NeverReceived.
func (j *Job) Expire(now time.Time) bool {
	what, at := j.Deadline()
	if what == "" || !now.After(at) {
		return false
	}
	note := what + " was due " + at.UTC().Format(time.RFC3339)
	if j.State == JobShipping {
		for i := range j.Drives {
			if d := &j.Drives[i]; d.State == DriveSpecified {
				_ = j.moveDrive(now, d, DriveNeverReceived, "job expired") // allowed from Specified
			}
		}
	}
	return j.move(now, JobExpired, note) == nil
}
