//! SeaORM entities for the Verta tables.
