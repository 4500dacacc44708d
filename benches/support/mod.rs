pub mod flink;
