DROP TABLE complaints;
DROP TABLE cases;
DROP TABLE survey_entries;
