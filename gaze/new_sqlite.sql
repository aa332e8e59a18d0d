-- revision 0009
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE checkpoint (
	name VARCHAR(32) NOT NULL, 
	cursor TEXT, 
	state TEXT NOT NULL, 
	updated_ms BIGINT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE session_record (
	id INTEGER NOT NULL, 
	end_ms BIGINT NOT NULL, 
	start_ms BIGINT NOT NULL, 
	user_id VARCHAR(512) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	module VARCHAR(1024) NOT NULL, 
	duration_s INTEGER NOT NULL, 
	reason VARCHAR(16) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_session_record_end_ms ON session_record (end_ms);

CREATE INDEX ix_session_record_source_id ON session_record (source, id);

CREATE TABLE log_writer (
	stem VARCHAR(64) NOT NULL, 
	written_upto BIGINT NOT NULL, 
	intent_path TEXT, 
	intent_offset BIGINT, 
	intent_data BLOB, 
	intent_upto BIGINT, 
	PRIMARY KEY (stem)
);

CREATE TABLE time_limit (
	module VARCHAR(1024) NOT NULL, 
	minutes INTEGER NOT NULL, 
	updated_ms BIGINT NOT NULL, 
	PRIMARY KEY (module)
);

CREATE TABLE alert (
	id INTEGER NOT NULL, 
	raised_ms BIGINT NOT NULL, 
	user_id VARCHAR(512) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	module VARCHAR(1024) NOT NULL, 
	limit_minutes INTEGER NOT NULL, 
	session_start_ms BIGINT NOT NULL, 
	acknowledged_ms BIGINT, 
	acknowledged_by VARCHAR(128), resolved_ms BIGINT, resolution VARCHAR(64), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_alert_raised_ms ON alert (raised_ms);

CREATE TABLE app_user (
	username VARCHAR(64) NOT NULL, 
	password_hash VARCHAR(256) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created_ms BIGINT NOT NULL, 
	PRIMARY KEY (username)
);

CREATE TABLE usage_daily (
	day INTEGER NOT NULL, 
	module VARCHAR(1024) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	user_id VARCHAR(512) NOT NULL, 
	seconds BIGINT NOT NULL, 
	sessions INTEGER NOT NULL, 
	h00 BIGINT NOT NULL, 
	h01 BIGINT NOT NULL, 
	h02 BIGINT NOT NULL, 
	h03 BIGINT NOT NULL, 
	h04 BIGINT NOT NULL, 
	h05 BIGINT NOT NULL, 
	h06 BIGINT NOT NULL, 
	h07 BIGINT NOT NULL, 
	h08 BIGINT NOT NULL, 
	h09 BIGINT NOT NULL, 
	h10 BIGINT NOT NULL, 
	h11 BIGINT NOT NULL, 
	h12 BIGINT NOT NULL, 
	h13 BIGINT NOT NULL, 
	h14 BIGINT NOT NULL, 
	h15 BIGINT NOT NULL, 
	h16 BIGINT NOT NULL, 
	h17 BIGINT NOT NULL, 
	h18 BIGINT NOT NULL, 
	h19 BIGINT NOT NULL, 
	h20 BIGINT NOT NULL, 
	h21 BIGINT NOT NULL, 
	h22 BIGINT NOT NULL, 
	h23 BIGINT NOT NULL, 
	PRIMARY KEY (day, module, ip, user_id)
);

CREATE INDEX ix_usage_daily_ip_day ON usage_daily (ip, day, user_id);

CREATE INDEX ix_usage_daily_user_day ON usage_daily (user_id, day, ip);

CREATE INDEX ix_usage_daily_module_day ON usage_daily (module, day, ip, user_id);

CREATE TABLE usage_dim (
	dim VARCHAR(8) NOT NULL, 
	day INTEGER NOT NULL, 
	value VARCHAR(1024) NOT NULL, 
	seconds BIGINT NOT NULL, 
	sessions INTEGER NOT NULL, 
	h00 BIGINT NOT NULL, 
	h01 BIGINT NOT NULL, 
	h02 BIGINT NOT NULL, 
	h03 BIGINT NOT NULL, 
	h04 BIGINT NOT NULL, 
	h05 BIGINT NOT NULL, 
	h06 BIGINT NOT NULL, 
	h07 BIGINT NOT NULL, 
	h08 BIGINT NOT NULL, 
	h09 BIGINT NOT NULL, 
	h10 BIGINT NOT NULL, 
	h11 BIGINT NOT NULL, 
	h12 BIGINT NOT NULL, 
	h13 BIGINT NOT NULL, 
	h14 BIGINT NOT NULL, 
	h15 BIGINT NOT NULL, 
	h16 BIGINT NOT NULL, 
	h17 BIGINT NOT NULL, 
	h18 BIGINT NOT NULL, 
	h19 BIGINT NOT NULL, 
	h20 BIGINT NOT NULL, 
	h21 BIGINT NOT NULL, 
	h22 BIGINT NOT NULL, 
	h23 BIGINT NOT NULL, 
	PRIMARY KEY (dim, day, value)
);

CREATE INDEX ix_usage_dim_value_day ON usage_dim (dim, value, day);

CREATE TABLE usage_hourly (
	day INTEGER NOT NULL, 
	hour INTEGER NOT NULL, 
	ms BIGINT NOT NULL, 
	sessions INTEGER NOT NULL, 
	PRIMARY KEY (day, hour)
);

CREATE TABLE session_duplicate (
	record_id INTEGER NOT NULL, 
	PRIMARY KEY (record_id)
);

CREATE TABLE device_label (
	ip VARCHAR(64) NOT NULL, 
	label VARCHAR(40) NOT NULL, 
	updated_ms BIGINT NOT NULL, 
	PRIMARY KEY (ip)
);

CREATE TABLE set_aside (
	id INTEGER NOT NULL, 
	at_ms BIGINT NOT NULL, 
	kind TEXT NOT NULL, 
	data TEXT NOT NULL, 
	error TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE uplink_outbox (
	record_id INTEGER NOT NULL, 
	end_ms BIGINT NOT NULL, 
	batch_id BIGINT, 
	queued_ms BIGINT NOT NULL, 
	PRIMARY KEY (record_id)
);

CREATE INDEX ix_uplink_outbox_batch_end ON uplink_outbox (batch_id, end_ms);

CREATE TABLE uplink_batch (
	id INTEGER NOT NULL, 
	"key" VARCHAR(1024) NOT NULL, 
	body BLOB NOT NULL, 
	records INTEGER NOT NULL, 
	created_ms BIGINT NOT NULL, 
	attempts INTEGER NOT NULL, 
	sent_ms BIGINT, 
	PRIMARY KEY (id), 
	UNIQUE ("key")
);

CREATE INDEX ix_uplink_batch_sent_ms ON uplink_batch (sent_ms);

