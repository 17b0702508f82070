-- 0003: guests may not join under a roster member's name, checked at every guest's join:
-- members are looked up by name. (Some databases got this index from an early form of 0002;
-- IF NOT EXISTS lets both kinds upgrade.)
CREATE INDEX IF NOT EXISTS members_name ON members(name);
