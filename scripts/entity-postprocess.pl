#!/usr/bin/env perl
# Post-processing of `sea-orm-cli generate entity` output (see scripts/regenerate-entities.sh).
#
# MariaDB implements JSON as an alias: information_schema reports such a column as LONGTEXT
# (with a CHECK json_valid(col)). sea-orm-cli 2.0 turns an unknown type like LONGTEXT into an
# *ignored* field (`#[sea_orm(ignore, column_type = "custom(\"LONGTEXT\")", ...)]`), i.e. a
# field that is never read or written. MySQL 8 and TiDB report the same columns as `json`, for
# which sea-orm-cli generates `pub col: Json` / `Option<Json>` with no attribute. This script
# rewrites the MariaDB form into that MySQL/TiDB form, so the entities are exactly what
# sea-orm-cli produces from a MySQL-family server with native JSON. No other column of the
# schema is LONGTEXT.
#
# MySQL has no boolean type either: BOOLEAN is tinyint(1), which sea-orm-cli generates as i8
# (it cannot tell tinyint(1) from tinyint(4)). The columns whose COLUMN_TYPE is tinyint(1) are
# passed in VERTA_BOOL_COLUMNS ("table.column table.column ...", from information_schema) and
# become `bool` / `Option<bool>`, the type SeaORM itself maps to a MySQL BOOLEAN.
#
# Edits files in place: [VERTA_BOOL_COLUMNS=...] entity-postprocess.pl FILE...
use strict;
use warnings;

local $/;
for my $file (@ARGV) {
    open(my $in, '<', $file) or die "cannot read $file: $!";
    my $src = <$in>;
    close($in);
    $src =~ s{
        ^([ \t]*)\#\[sea_orm\(\s*ignore,\s*column_type\s*=\s*"custom\(\\"LONGTEXT\\"\)",\s*select_as\s*=\s*"text"\s*(,\s*nullable\s*)?,?\s*\)\]\s*\n
        [ \t]*pub\s+(\w+):\s*(?:Option<String>|String),
    }{
        my ($indent, $nullable, $name) = ($1, $2, $3);
        $nullable ? "${indent}pub $name: Option<Json>," : "${indent}pub $name: Json,"
    }gmxe;
    my ($table) = $file =~ m{([^/]+)\.rs$};
    for my $tc (split ' ', ($ENV{VERTA_BOOL_COLUMNS} // '')) {
        my ($t, $c) = split /\./, $tc, 2;
        next unless defined $c && $t eq $table;
        $src =~ s{^([ \t]*pub\s+\Q$c\E:\s*)Option<i8>,}{${1}Option<bool>,}gm;
        $src =~ s{^([ \t]*pub\s+\Q$c\E:\s*)i8,}{${1}bool,}gm;
    }
    open(my $out, '>', $file) or die "cannot write $file: $!";
    print $out $src;
    close($out);
}
