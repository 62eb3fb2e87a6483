-- Lets a role read the reporting views (watchstand.v_*) and nothing else:
-- the role Grafana's data source logs in as (docs/dashboards.md).
--
--   psql -d watchstand -v role=grafana -f grant-reader.sql
--
-- Run it as the owner of the schema (the role that migrates), and again
-- after every `watchstand-collector migrate`: a release may add views.
\set ON_ERROR_STOP on
GRANT USAGE ON SCHEMA watchstand TO :"role";
SELECT format('GRANT SELECT ON watchstand.%I TO %I', c.relname, :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'watchstand' AND c.relkind = 'v' AND c.relname LIKE 'v\_%'
  ORDER BY c.relname
\gexec
