#include "api/openapi.h"

namespace bananas::api {
namespace {

// If you change a route, a field or a limit, change it here too (and in docs/API.md).
constexpr std::string_view kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "Bananas HTTP API",
    "version": "1",
    "description": "Submit jobs to the Bananas task queue, read and wait for their results, and administer queues, the dead-letter queue and workers. Errors are {\"error\": {\"code\", \"message\", \"field\"}}. When BANANAS_API_TOKEN is set, every /api route needs Authorization: Bearer <token>."
  },
  "servers": [{"url": "/"}],
  "security": [{"bearer": []}],
  "paths": {
    "/api/v1/jobs": {
      "post": {
        "operationId": "submitJob",
        "summary": "Submit one job",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}}},
        "responses": {
          "201": {"description": "Stored; the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmittedJob"}}}},
          "200": {"description": "Duplicate unique_key: the first job, with duplicate = true", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubmittedJob"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/jobs/batch": {
      "post": {
        "operationId": "submitBatch",
        "summary": "Submit up to 1000 jobs; all are valid or none is written",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["jobs"], "additionalProperties": false,
          "properties": {"jobs": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/SubmitRequest"}}}}}}},
        "responses": {
          "201": {"description": "Stored", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
              "ids": {"type": "array", "items": {"type": "string"}},
              "duplicates": {"type": "array", "items": {"type": "boolean"}}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/jobs/{id}": {
      "get": {
        "operationId": "getJob",
        "summary": "Read a job",
        "parameters": [{"$ref": "#/components/parameters/JobId"}],
        "responses": {
          "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/jobs/{id}/result": {
      "get": {
        "operationId": "getJobResult",
        "summary": "Wait (long-poll) until the job has ended",
        "parameters": [
          {"$ref": "#/components/parameters/JobId"},
          {"name": "wait_ms", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0},
           "description": "How long to wait for the end; 0 answers at once"}
        ],
        "responses": {
          "200": {"description": "The job has ended (completed, failed or cancelled)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
          "202": {"description": "The wait ran out; the job as it is now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/jobs/{id}/cancel": {
      "post": {
        "operationId": "cancelJob",
        "summary": "Cancel a job that has not started, or ask a running one to stop",
        "parameters": [{"$ref": "#/components/parameters/JobId"}],
        "responses": {
          "200": {"description": "cancelled, or cancellation_requested for an active job", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
              "id": {"type": "string"},
              "outcome": {"type": "string", "enum": ["cancelled", "cancellation_requested"]},
              "job": {"$ref": "#/components/schemas/Job"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    },
    "/api/v1/queues": {
      "get": {
        "operationId": "listQueues",
        "summary": "Every queue with its counts",
        "responses": {
          "200": {"description": "Queues", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"queues": {"type": "array", "items": {"$ref": "#/components/schemas/Queue"}}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/queues/{name}/pause": {
      "post": {
        "operationId": "pauseQueue",
        "summary": "Stop workers from taking jobs of the queue",
        "parameters": [{"$ref": "#/components/parameters/QueueName"}],
        "responses": {
          "200": {"description": "The queue", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queue"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/queues/{name}/resume": {
      "post": {
        "operationId": "resumeQueue",
        "summary": "Let workers take jobs of the queue again",
        "parameters": [{"$ref": "#/components/parameters/QueueName"}],
        "responses": {
          "200": {"description": "The queue", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queue"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/dlq": {
      "get": {
        "operationId": "listDead",
        "summary": "A page of the dead-letter queue, newest death first",
        "parameters": [
          {"$ref": "#/components/parameters/QueueFilter"},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
          {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0},
           "description": "Without queue, offset + limit must be at most 1000"}
        ],
        "responses": {
          "200": {"description": "Dead jobs", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
              "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
              "total": {"type": "integer"}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      },
      "delete": {
        "operationId": "purgeAllDead",
        "summary": "Delete the oldest dead jobs for good",
        "parameters": [{"$ref": "#/components/parameters/QueueFilter"}, {"$ref": "#/components/parameters/BulkLimit"}],
        "responses": {
          "200": {"description": "How many were deleted", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"purged": {"type": "integer"}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/dlq/retry": {
      "post": {
        "operationId": "retryAllDead",
        "summary": "Make the oldest dead jobs pending again",
        "parameters": [{"$ref": "#/components/parameters/QueueFilter"}, {"$ref": "#/components/parameters/BulkLimit"}],
        "responses": {
          "200": {"description": "How many moved", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"retried": {"type": "integer"}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/dlq/{id}/retry": {
      "post": {
        "operationId": "retryDead",
        "summary": "Make one dead job pending again, with fresh attempts",
        "parameters": [{"$ref": "#/components/parameters/JobId"}],
        "responses": {
          "200": {"description": "Retried", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"retried": {"type": "integer"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/dlq/{id}": {
      "delete": {
        "operationId": "purgeDead",
        "summary": "Delete one dead job for good",
        "parameters": [{"$ref": "#/components/parameters/JobId"}],
        "responses": {
          "200": {"description": "Deleted", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"purged": {"type": "integer"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/workers": {
      "get": {
        "operationId": "listWorkers",
        "summary": "Live workers, from their heartbeats",
        "responses": {
          "200": {"description": "Workers", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"workers": {"type": "array", "items": {"$ref": "#/components/schemas/Worker"}}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/v1/redis": {
      "get": {
        "operationId": "redisSelfCheck",
        "summary": "Redis self-check: version, maxmemory-policy and persistence checks (OK/WARN/FAIL with the fix), key INFO figures and the last 10 SLOWLOG entries",
        "responses": {
          "200": {"description": "The report (as bananas doctor --json prints it)", "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
              "endpoint": {"type": "string"},
              "ok": {"type": "boolean", "description": "false when a check FAILs"},
              "checks": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "status": {"type": "string", "enum": ["OK", "WARN", "FAIL"]},
                "message": {"type": "string"}, "fix": {"type": "string"}}}},
              "info": {"type": "object", "properties": {
                "version": {"type": "string"}, "mode": {"type": "string"},
                "uptime_seconds": {"type": "integer"}, "used_memory_bytes": {"type": "integer"},
                "maxmemory_bytes": {"type": "integer"}, "maxmemory_policy": {"type": "string"},
                "aof_enabled": {"type": "boolean"}, "rdb_save": {"type": "string"},
                "connected_clients": {"type": "integer"}, "ops_per_second": {"type": "integer"}}},
              "slowlog": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
                "duration_us": {"type": "integer"}, "command": {"type": "string"},
                "client": {"type": "string"}}}}
            }}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/schedules": {
      "get": {
        "operationId": "listSchedules",
        "summary": "Every cron schedule with its state, sorted by id",
        "responses": {
          "200": {"description": "Schedules", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "post": {
        "operationId": "createSchedule",
        "summary": "Create a cron schedule with a client-chosen id",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScheduleRequest"}}}},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"description": "A schedule with this id exists", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/schedules/{id}": {
      "get": {
        "operationId": "getSchedule",
        "summary": "Read a schedule and its state",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "responses": {
          "200": {"description": "The schedule", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "put": {
        "operationId": "putSchedule",
        "summary": "Create or replace a schedule; its state (runs, pause) is kept, and next_run too while cron and timezone are unchanged",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScheduleRequest"}}}},
        "responses": {
          "200": {"description": "Replaced", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "delete": {
        "operationId": "deleteSchedule",
        "summary": "Delete a schedule (jobs it already enqueued stay)",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "responses": {
          "200": {"description": "Deleted", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"deleted": {"type": "string"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/schedules/{id}/pause": {
      "post": {
        "operationId": "pauseSchedule",
        "summary": "Stop firing occurrences until resumed",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "responses": {
          "200": {"description": "The schedule, paused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/schedules/{id}/resume": {
      "post": {
        "operationId": "resumeSchedule",
        "summary": "Fire again from the first occurrence after now (occurrences during the pause do not run)",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "responses": {
          "200": {"description": "The schedule, resumed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/v1/schedules/{id}/trigger": {
      "post": {
        "operationId": "triggerSchedule",
        "summary": "Enqueue the schedule's job now, outside its occurrences (paused or not); counted in run_count",
        "parameters": [{"$ref": "#/components/parameters/ScheduleId"}],
        "responses": {
          "201": {"description": "The job enqueued and the schedule", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"job": {"$ref": "#/components/schemas/Job"}, "schedule": {"$ref": "#/components/schemas/Schedule"}}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "operationId": "openApi",
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {}}},
                      "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/healthz": {
      "get": {
        "operationId": "healthz", "summary": "Liveness: 200 while the process serves, Redis up or not", "security": [],
        "responses": {"200": {"description": "Alive"}}
      }
    },
    "/readyz": {
      "get": {
        "operationId": "readyz", "summary": "Readiness: 200 once Redis answers PING", "security": [],
        "responses": {"200": {"description": "Ready"}, "503": {"$ref": "#/components/responses/Unavailable"}}
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics", "summary": "Prometheus text exposition", "security": [],
        "responses": {"200": {"description": "Metrics", "content": {"text/plain": {}}}}
      }
    }
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "JobId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
                "description": "26-character ULID, '-', then the job's queue"},
      "QueueName": {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}},
      "QueueFilter": {"name": "queue", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                      "description": "One queue; every queue when absent"},
      "ScheduleId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}},
      "BulkLimit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10000}}
    },
    "responses": {
      "BadRequest": {"description": "Invalid input; error.field names it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "Missing or wrong bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such job (or not in the DLQ), or no such schedule", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "The job has already ended", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "Body larger than API_MAX_BODY", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "Redis unreachable or the server saturated; retry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message", "field"], "properties": {
        "code": {"type": "string", "example": "invalid_field"},
        "message": {"type": "string"},
        "field": {"type": "string", "nullable": true, "example": "jobs[2].priority"}}}}},
      "SubmitRequest": {
        "type": "object", "required": ["name"], "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
          "payload": {"description": "Any JSON value"},
          "payload_base64": {"type": "string", "format": "byte", "description": "Raw bytes instead of payload"},
          "priority": {"type": "string", "enum": ["high", "normal", "low"], "default": "normal"},
          "queue": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$", "default": "default"},
          "max_retries": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Default MAX_RETRIES (3)"},
          "timeout_ms": {"type": "integer", "minimum": 0, "maximum": 2592000000, "description": "0: the worker's JOB_TIMEOUT"},
          "run_at": {"type": "string", "format": "date-time"},
          "delay_ms": {"type": "integer", "minimum": 0, "maximum": 31622400000},
          "unique_key": {"type": "string", "minLength": 1, "maxLength": 256},
          "unique_ttl_ms": {"type": "integer", "minimum": 1, "maximum": 31622400000},
          "description": {"type": "string", "maxLength": 1024}
        }
      },
      "Job": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "name": {"type": "string"},
          "queue": {"type": "string"},
          "priority": {"type": "string", "enum": ["high", "normal", "low"]},
          "state": {"type": "string", "enum": ["pending", "scheduled", "active", "retrying", "completed", "failed", "cancelled"]},
          "attempts": {"type": "integer"},
          "max_retries": {"type": "integer"},
          "payload": {"description": "The payload as JSON when it is JSON, else as a string; null with payload_base64 when not UTF-8", "nullable": true},
          "payload_base64": {"type": "string", "format": "byte"},
          "description": {"type": "string", "nullable": true},
          "timeout_ms": {"type": "integer", "nullable": true},
          "unique_key": {"type": "string", "nullable": true},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "run_at": {"type": "string", "format": "date-time", "nullable": true},
          "started_at": {"type": "string", "format": "date-time", "nullable": true},
          "finished_at": {"type": "string", "format": "date-time", "nullable": true},
          "error": {"type": "string", "nullable": true},
          "result": {"description": "As payload", "nullable": true},
          "result_base64": {"type": "string", "format": "byte"},
          "cancel_requested": {"type": "boolean"},
          "errors": {"type": "array", "items": {"type": "object", "properties": {
            "attempt": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "error": {"type": "string"}}}}
        }
      },
      "SubmittedJob": {"allOf": [{"$ref": "#/components/schemas/Job"}, {"type": "object", "properties": {"duplicate": {"type": "boolean"}}}]},
      "ScheduleRequest": {
        "type": "object", "required": ["cron", "job"], "additionalProperties": false,
        "properties": {
          "id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$", "description": "Required in a POST; in a PUT, the path's"},
          "cron": {"type": "string", "maxLength": 256, "example": "30 2 * * *",
                   "description": "5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly, or @every <duration>"},
          "timezone": {"type": "string", "default": "UTC", "example": "America/New_York", "description": "IANA time zone of the expression"},
          "missed": {"type": "string", "enum": ["once", "skip", "all"], "default": "once",
                     "description": "Occurrences missed while no scheduler ran: once runs the oldest once then continues after now; skip runs none; all runs each one of the last hour"},
          "enabled": {"type": "boolean", "default": true},
          "job": {"allOf": [{"$ref": "#/components/schemas/SubmitRequest"}], "description": "A submit body without run_at, delay_ms, unique_key, unique_ttl_ms"}
        }
      },
      "Schedule": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "cron": {"type": "string"},
          "timezone": {"type": "string"},
          "missed": {"type": "string", "enum": ["once", "skip", "all"]},
          "enabled": {"type": "boolean"},
          "job": {"$ref": "#/components/schemas/SubmitRequest"},
          "paused": {"type": "boolean"},
          "next_run": {"type": "string", "format": "date-time", "nullable": true},
          "last_run": {"type": "string", "format": "date-time", "nullable": true},
          "run_count": {"type": "integer"},
          "last_error": {"type": "string", "nullable": true},
          "last_job_id": {"type": "string", "nullable": true},
          "source": {"type": "string", "enum": ["api", "config"]},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "Queue": {
        "type": "object",
        "properties": {
          "name": {"type": "string"},
          "paused": {"type": "boolean"},
          "pending": {"type": "object", "properties": {"high": {"type": "integer"}, "normal": {"type": "integer"}, "low": {"type": "integer"}}},
          "scheduled": {"type": "integer"},
          "active": {"type": "integer"},
          "retrying": {"type": "integer"},
          "dead": {"type": "integer"}
        }
      },
      "Worker": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "host": {"type": "string"},
          "pid": {"type": "integer"},
          "queues": {"type": "array", "items": {"type": "string"}},
          "concurrency": {"type": "integer"},
          "active": {"type": "integer"},
          "started_at": {"type": "string", "format": "date-time"},
          "last_heartbeat": {"type": "string", "format": "date-time"}
        }
      }
    }
  }
}
)json";

}  // namespace

std::string_view OpenApiDocument() { return kDocument; }

}  // namespace bananas::api
