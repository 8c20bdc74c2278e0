-- Tables of the Notary server and signer, written for this scenario from the
-- fields of their Go models (server/storage/sql_models.go,
-- signer/keydbstore/sql_keydbstore.go in notary 0.7): Debian's package ships
-- neither the upstream migrations nor a tool that creates the tables.
-- Idempotent: prepare may run again.
CREATE DATABASE IF NOT EXISTS notaryserver CHARACTER SET utf8mb4;
CREATE DATABASE IF NOT EXISTS notarysigner CHARACTER SET utf8mb4;

CREATE TABLE IF NOT EXISTS notaryserver.tuf_files (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created_at DATETIME NULL,
  updated_at DATETIME NULL,
  deleted_at DATETIME NULL,
  gun VARCHAR(255) NOT NULL,
  role VARCHAR(255) NOT NULL,
  version INT NOT NULL,
  sha256 CHAR(64) NULL,
  data LONGBLOB NOT NULL,
  UNIQUE KEY gun_role_version (gun, role, version),
  KEY gun_sha256 (gun, sha256)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS notaryserver.changefeed (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gun VARCHAR(255) NOT NULL,
  version INT NOT NULL,
  sha256 CHAR(64) NULL,
  category VARCHAR(20) NOT NULL DEFAULT 'update',
  KEY changefeed_gun (gun)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS notarysigner.private_keys (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created_at DATETIME NULL,
  updated_at DATETIME NULL,
  deleted_at DATETIME NULL,
  key_id VARCHAR(255) NOT NULL,
  encryption_alg VARCHAR(255) NOT NULL,
  keywrap_alg VARCHAR(255) NOT NULL,
  algorithm VARCHAR(50) NOT NULL,
  passphrase_alias VARCHAR(50) NOT NULL,
  gun VARCHAR(255) NOT NULL,
  role VARCHAR(255) NOT NULL,
  public BLOB NOT NULL,
  private BLOB NOT NULL,
  last_used DATETIME NULL DEFAULT NULL,
  UNIQUE KEY key_id_idx (key_id)
) ENGINE=InnoDB;
