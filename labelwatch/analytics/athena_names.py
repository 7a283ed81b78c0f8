"""The names Athena's SQL (engine version 3, i.e. Trino) knows: functions, types, reserved words.

A query run locally may call only these functions and types, so a DuckDB function (``list_value``,
``strftime``, ``read_csv``, ...) is refused locally as Athena refuses it ("Function 'list_value' not
registered"). The function names follow Trino's "List of functions and operators"
(``docs/src/main/sphinx/functions/list.md`` in trinodb/trino) plus the syntax forms that look like
calls (``CAST(``, ``EXTRACT(``, ``IF(``, ...); the reserved words Trino's "Reserved keywords"
(``docs/src/main/sphinx/language/reserved.md``), less the newest two (``AUTO``, ``PRIMARY``).
Athena's Trino lags the newest Trino by some releases, so a few of the newest names may pass here
and still be unknown to Athena; and a function that is listed but neither built into DuckDB nor
defined in ``athena_compat`` fails locally with DuckDB's "function does not exist".
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Call-like syntax: parsed specially, not looked up as functions.
SYNTAX = _words(
    """
    all any array case cast coalesce exists extract grouping if json_array json_exists json_object
    json_query json_value listagg map normalize nullif position row some substring trim try try_cast
    unnest
    """
)

FUNCTIONS = _words(
    """
    abs acos all_match any_match any_value approx_distinct approx_most_frequent approx_percentile
    approx_set arbitrary array_agg array_distinct array_except array_first array_histogram
    array_intersect array_join array_last array_max array_min array_position array_remove array_sort
    array_union arrays_overlap asin at_timezone atan atan2 avg

    bar beta_cdf bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey
    bing_tile_zoom_level bing_tiles_around bit_count bitwise_and bitwise_and_agg bitwise_left_shift
    bitwise_not bitwise_or bitwise_or_agg bitwise_right_shift bitwise_right_shift_arithmetic
    bitwise_xor bool_and bool_or

    cardinality cbrt ceil ceiling char2hexint checksum chr classify codepoint color combinations
    concat concat_ws contains contains_sequence convex_hull_agg corr cos cosh cosine_distance
    cosine_similarity count count_if covar_pop covar_samp crc32 cume_dist current_date
    current_groups current_time current_timestamp current_timezone current_user

    date date_add date_diff date_format date_parse date_trunc day day_of_month day_of_week
    day_of_year degrees dense_rank dow doy

    e element_at empty_approx_set ends_with every exp

    features filter first_value flatten floor format format_datetime format_number from_base
    from_base32 from_base64 from_base64url from_big_endian_32 from_big_endian_64
    from_encoded_polyline from_geojson_geometry from_hex from_ieee754_32 from_ieee754_64
    from_iso8601_date from_iso8601_timestamp from_iso8601_timestamp_nanos from_unixtime
    from_unixtime_nanos from_utf8

    geometric_mean geometry_from_hadoop_shape geometry_invalid_reason geometry_nearest_points
    geometry_to_bing_tiles geometry_union geometry_union_agg great_circle_distance greatest

    hamming_distance hash_counts histogram hmac_md5 hmac_sha1 hmac_sha256 hmac_sha512 hour
    human_readable_seconds

    index infinity intersection_cardinality inverse_beta_cdf inverse_normal_cdf is_finite
    is_infinite is_json_scalar is_nan

    jaccard_index json_array_contains json_array_get json_array_length json_extract
    json_extract_scalar json_format json_parse json_size

    kurtosis

    lag last_day_of_month last_value lead learn_classifier learn_libsvm_classifier
    learn_libsvm_regressor learn_regressor least length levenshtein_distance line_interpolate_point
    line_interpolate_points line_locate_point ln localtime localtimestamp log log10 log2 lower lpad
    ltrim luhn_check

    make_set_digest map_agg map_concat map_entries map_filter map_from_entries map_keys map_union
    map_values map_zip_with max max_by md5 merge merge_set_digest millisecond min min_by minute mod
    month multimap_agg multimap_from_entries murmur3

    nan ngrams none_match normal_cdf now nth_value ntile numeric_histogram

    parse_data_size parse_datetime parse_duration percent_rank pi pow power

    qdigest_agg quarter

    radians rand random rank reduce reduce_agg regexp_count regexp_extract regexp_extract_all
    regexp_like regexp_position regexp_replace regexp_split regress regr_intercept regr_slope render
    repeat replace reverse rgb round row_number rpad rtrim

    second sequence sha1 sha256 sha512 shuffle sign simplify_geometry sin sinh skewness slice soundex
    spatial_partitioning spatial_partitions split split_part split_to_map split_to_multimap
    spooky_hash_v2_32 spooky_hash_v2_64 sqrt starts_with stddev stddev_pop stddev_samp strpos substr
    sum

    st_area st_asbinary st_astext st_boundary st_buffer st_centroid st_contains st_convexhull
    st_coorddim st_crosses st_difference st_dimension st_disjoint st_distance st_endpoint
    st_envelope st_envelopeaspts st_equals st_exteriorring st_geometries st_geometryfromtext
    st_geometryn st_geometrytype st_geomfrombinary st_interiorringn st_interiorrings
    st_intersection st_intersects st_isclosed st_isempty st_isring st_issimple st_isvalid st_length
    st_linefromtext st_linestring st_multipoint st_numgeometries st_numinteriorring st_numpoints
    st_overlaps st_point st_pointn st_points st_polygon st_relate st_startpoint st_symdifference
    st_touches st_union st_within st_x st_xmax st_xmin st_y st_ymax st_ymin

    tan tanh tdigest_agg timezone_hour timezone_minute to_base to_base32 to_base64 to_base64url
    to_big_endian_32 to_big_endian_64 to_char to_date to_encoded_polyline to_geojson_geometry
    to_geometry to_hex to_ieee754_32 to_ieee754_64 to_iso8601 to_milliseconds to_spherical_geography
    to_timestamp to_unixtime to_utf8 transform transform_keys transform_values translate trim_array
    truncate typeof

    upper url_decode url_encode url_extract_fragment url_extract_host url_extract_parameter
    url_extract_path url_extract_port url_extract_protocol url_extract_query uuid

    value_at_quantile values_at_quantiles var_pop var_samp variance version

    week week_of_year width_bucket wilson_interval_lower wilson_interval_upper with_timezone
    word_stem

    xxhash64

    year year_of_week yow

    zip zip_with
    """
)

# The first word of each type name (``double precision``, ``timestamp(3) with time zone``).
TYPES = _words(
    """
    array bigint boolean char date decimal double geometry hyperloglog int integer interval ipaddress
    json map p4hyperloglog qdigest real row setdigest smallint sphericalgeography tdigest time
    timestamp tinyint uuid varbinary varchar
    """
)

# Must be double-quoted to be used as an identifier (``geometry."left"``).
RESERVED = _words(
    """
    alter and as between by case cast constraint create cross cube current_catalog current_date
    current_path current_role current_schema current_time current_timestamp current_user deallocate
    delete describe distinct drop else end escape except exists extract false for from full group
    grouping having in inner insert intersect into is join json_array json_exists json_object
    json_query json_table json_value left like listagg localtime localtimestamp natural normalize not
    null on or order outer prepare recursive right rollup select skip table then trim true uescape
    union unnest using values when where with
    """
)


def is_athena_function(name: str) -> bool:
    return name.lower() in FUNCTIONS or name.lower() in SYNTAX


def is_athena_type(name: str) -> bool:
    return name.split()[0].lower() in TYPES if name.strip() else False


def is_reserved(word: str) -> bool:
    return word.lower() in RESERVED
