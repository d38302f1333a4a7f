#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
/* The in-process mock cluster, used by the wrapper's own tests and by KafkaMockCluster. */
#include <librdkafka/rdkafka_mock.h>
#include <dlfcn.h>

/*
 * rd_kafka_producev is variadic and its RD_KAFKA_V_* arguments are macros, so Swift can't
 * call it. This helper produces one record to an automatically chosen partition.
 *
 * The payload and key are copied (RD_KAFKA_MSG_F_COPY): Swift arrays are only pinned for the
 * duration of the call. On success librdkafka owns `headers` (may be NULL); on failure the
 * caller still owns them and must destroy them. `msg_opaque` comes back in the delivery report.
 */
static inline rd_kafka_resp_err_t crdkafka_produce(rd_kafka_t *rk, const char *topic,
                                                   const void *key, size_t key_len,
                                                   const void *value, size_t value_len,
                                                   rd_kafka_headers_t *headers,
                                                   void *msg_opaque) {
    if (headers != NULL) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len),
                                 RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_HEADERS(headers),
                                 RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
}

/*
 * The mock cluster's JoinGroup waits group.initial.rebalance.delay.ms (3 s) before answering,
 * which makes every test consumer slow to start. Newer librdkafka (2.16 has it) can set it to 0; the
 * headers we compile against (Debian's 2.0.2) don't declare that function, so it is looked up
 * at run time. Returns 1 if applied, 0 if this librdkafka lacks it.
 */
static inline int crdkafka_mock_set_initial_rebalance_delay(rd_kafka_mock_cluster_t *mcluster,
                                                            int32_t delay_ms) {
    typedef void (*set_delay_fn)(rd_kafka_mock_cluster_t *, int32_t);
    void *self = dlopen(NULL, RTLD_LAZY);
    if (self == NULL) return 0;
    set_delay_fn set_delay =
        (set_delay_fn)dlsym(self, "rd_kafka_mock_group_initial_rebalance_delay_ms");
    if (set_delay != NULL) set_delay(mcluster, delay_ms);
    dlclose(self);
    return set_delay != NULL;
}

#endif
