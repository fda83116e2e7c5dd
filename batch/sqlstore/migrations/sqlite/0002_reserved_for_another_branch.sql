-- Placeholder: version 2 belongs to a migration another branch adds. When
-- that branch is merged, delete this file (0003_spend.sql stays version 3).
SELECT 1;
