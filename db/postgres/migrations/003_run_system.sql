-- 003: the machine a run trains on (CPU model, cores, platform, GPU names), a JSON document; NULL when not sent.

ALTER TABLE runs ADD COLUMN system json;
