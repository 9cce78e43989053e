-- The CHECKs on leads call these two functions for every row written. Declared STRICT, they
-- could not be inlined (their bodies are not provably strict), so each call ran through the SQL
-- function executor: 7.2 of the 24.5 microseconds an imported lead cost PostgreSQL. Inlined,
-- all of leads' CHECKs cost 1.7. A NULL argument still gives NULL (every test in the bodies is
-- NULL on NULL), which a CHECK accepts as before.
ALTER FUNCTION dialtone_is_e164(text) CALLED ON NULL INPUT;
ALTER FUNCTION dialtone_is_code(text, integer) CALLED ON NULL INPUT;
