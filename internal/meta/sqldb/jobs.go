package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
)

const storageAccountCols = `account_id, name, store, created`

func scanStorageAccount(r rowScanner) (meta.StorageAccount, error) {
	var sa meta.StorageAccount
	var created int64
	err := r.Scan(&sa.AccountID, &sa.Name, &sa.Store, &created)
	sa.Created = fromUnixNano(created)
	return sa, err
}

// CreateStorageAccount implements meta.StorageAccounts.
func (d *DB) CreateStorageAccount(ctx context.Context, sa meta.StorageAccount) error {
	what := fmt.Sprintf("create storage account %q", sa.Name)
	return d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.mustExist(ctx, tx, what, `SELECT id FROM accounts WHERE id = $1`, sa.AccountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO storage_accounts (`+storageAccountCols+`) VALUES ($1, $2, $3, $4)`,
			sa.AccountID, sa.Name, sa.Store, unixNano(sa.Created))
		return d.wrap(what, err)
	})
}

// GetStorageAccount implements meta.StorageAccounts.
func (d *DB) GetStorageAccount(ctx context.Context, accountID, name string) (meta.StorageAccount, error) {
	sa, err := scanStorageAccount(d.db.QueryRowContext(ctx,
		`SELECT `+storageAccountCols+` FROM storage_accounts WHERE account_id = $1 AND name = $2`, accountID, name))
	return sa, d.wrap(fmt.Sprintf("storage account %q", name), err)
}

// ListStorageAccounts implements meta.StorageAccounts.
func (d *DB) ListStorageAccounts(ctx context.Context, accountID string) ([]meta.StorageAccount, error) {
	return list(ctx, d, "list storage accounts", scanStorageAccount,
		`SELECT `+storageAccountCols+` FROM storage_accounts WHERE account_id = $1 ORDER BY `+d.text("name"), accountID)
}

// SetSetting implements meta.Settings.
func (d *DB) SetSetting(ctx context.Context, key, value string) error {
	return d.exec(ctx, "set setting "+key,
		`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
}

// GetSetting implements meta.Settings.
func (d *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, d.wrap("setting "+key, err)
}

const jobCols = `body, job_key, version, updated`

func scanJob(r rowScanner) (meta.JobRecord, error) {
	var jr meta.JobRecord
	var body string
	var updated int64
	if err := r.Scan(&body, &jr.JobKey, &jr.Version, &updated); err != nil {
		return jr, err
	}
	jr.Updated = fromUnixNano(updated)
	if err := json.Unmarshal([]byte(body), &jr.Job); err != nil {
		return jr, fmt.Errorf("decode stored job: %w", err)
	}
	return jr, nil
}

// tracking is the job's inbound tracking number, NULL before shipping.
func tracking(j *importjob.Job) sql.NullString {
	if j.Shipping == nil || j.Shipping.Tracking == "" {
		return sql.NullString{}
	}
	return sql.NullString{String: j.Shipping.Tracking, Valid: true}
}

// checkTracking returns ErrTrackingInUse when a job other than id has the
// tracking number t.
func (d *DB) checkTracking(ctx context.Context, tx *sql.Tx, what, id string, t sql.NullString) error {
	if !t.Valid {
		return nil
	}
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE tracking = $1 AND id <> $2`, t.String, id).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return d.wrap(what, err)
	}
	return fmt.Errorf("%s: tracking number %s: %w", what, t.String, meta.ErrTrackingInUse)
}

// CreateJob implements meta.Jobs.
func (d *DB) CreateJob(ctx context.Context, r meta.JobRecord) error {
	j := &r.Job
	what := fmt.Sprintf("create job %q", j.Name)
	body, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.mustExist(ctx, tx, what, `SELECT id FROM accounts WHERE id = $1`, j.Account); err != nil {
			return err
		}
		if err := d.checkTracking(ctx, tx, what, j.ID, tracking(j)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, account_id, name, body, state, tracking, job_key, version, created, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)`,
			j.ID, j.Account, j.Name, string(body), string(j.State), tracking(j), r.JobKey, unixNano(j.Created))
		return d.wrap(what, err)
	})
	if errors.Is(err, meta.ErrExists) && tracking(j).Valid {
		return d.whichDuplicate(ctx, what, j, err)
	}
	return err
}

// whichDuplicate explains a unique violation of a new job. Where writers
// are not serialised (PostgreSQL), a job committed between checkTracking and
// the INSERT can take the tracking number; the violation does not say which
// constraint failed, so when id and name are free it was the tracking number.
func (d *DB) whichDuplicate(ctx context.Context, what string, j *importjob.Job, err error) error {
	var n int
	qerr := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE id = $1 OR (account_id = $2 AND name = $3)`,
		j.ID, j.Account, j.Name).Scan(&n)
	if qerr != nil || n > 0 {
		return err
	}
	return fmt.Errorf("%s: tracking number %s: %w", what, j.Shipping.Tracking, meta.ErrTrackingInUse)
}

// GetJob implements meta.Jobs.
func (d *DB) GetJob(ctx context.Context, accountID, name string) (meta.JobRecord, error) {
	jr, err := scanJob(d.db.QueryRowContext(ctx,
		`SELECT `+jobCols+` FROM jobs WHERE account_id = $1 AND name = $2`, accountID, name))
	return jr, d.wrap(fmt.Sprintf("job %q", name), err)
}

// ListJobs implements meta.Jobs.
func (d *DB) ListJobs(ctx context.Context, f meta.JobFilter) ([]meta.JobRecord, error) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"account_id", f.AccountID}, {"name", f.Name}, {"state", string(f.State)}} {
		if c.v != "" {
			args = append(args, c.v)
			conds = append(conds, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	q := `SELECT ` + jobCols + ` FROM jobs`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return list(ctx, d, "list jobs", scanJob, q+` ORDER BY `+d.text("account_id")+`, `+d.text("name"), args...)
}

// UpdateJob implements meta.Jobs: one conditional UPDATE on the version, so
// of two writers that read the same version exactly one succeeds.
func (d *DB) UpdateJob(ctx context.Context, r meta.JobRecord, now time.Time) (meta.JobRecord, error) {
	j := &r.Job
	what := fmt.Sprintf("update job %q", j.Name)
	body, err := json.Marshal(j)
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	err = d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.checkTracking(ctx, tx, what, j.ID, tracking(j)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET body = $1, state = $2, tracking = $3, version = version + 1, updated = $4
			WHERE id = $5 AND version = $6 AND account_id = $7 AND name = $8`,
			string(body), string(j.State), tracking(j), unixNano(now), j.ID, r.Version, j.Account, j.Name)
		if d.dialect.IsUnique != nil && d.dialect.IsUnique(err) {
			return fmt.Errorf("%s: tracking number %s: %w", what, tracking(j).String, meta.ErrTrackingInUse)
		}
		if err != nil {
			return d.wrap(what, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return d.wrap(what, err)
		}
		return d.whyNotUpdated(ctx, tx, what, r)
	})
	if err != nil {
		return r, err
	}
	r.Version++
	r.Updated = now.UTC()
	return r, nil
}

// whyNotUpdated explains an UPDATE that matched no row.
func (d *DB) whyNotUpdated(ctx context.Context, tx *sql.Tx, what string, r meta.JobRecord) error {
	var version int64
	var account, name string
	err := tx.QueryRowContext(ctx, `SELECT version, account_id, name FROM jobs WHERE id = $1`, r.Job.ID).Scan(&version, &account, &name)
	if err != nil {
		return d.wrap(what, err)
	}
	if account != r.Job.Account || name != r.Job.Name {
		return fmt.Errorf("%s: %w: a job's account and name cannot change", what, importjob.ErrInvalid)
	}
	return fmt.Errorf("%s: version %d, stored %d: %w", what, r.Version, version, meta.ErrConflict)
}
