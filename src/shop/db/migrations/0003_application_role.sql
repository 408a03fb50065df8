-- The application role (shop.declarations.DB_APP_USER): what the API function signs in as.
-- It may read and write the shop's rows and use their sequences; it owns nothing and may create
-- nothing (no CREATE on the schema or database, no temporary tables), so a compromised function
-- cannot drop or alter a table. Migrations keep running as the privileged role.
-- Tables created by later migrations get the same grants (ALTER DEFAULT PRIVILEGES below).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_app') THEN
        CREATE ROLE shop_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    -- Aurora: sign in with an IAM token (rds_iam exists only in RDS and Aurora).
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO shop_app;
    END IF;
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC, shop_app', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO shop_app', current_database());
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM shop_app;
GRANT USAGE ON SCHEMA public TO shop_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO shop_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO shop_app;
REVOKE ALL ON schema_migrations FROM shop_app;

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO shop_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO shop_app;
