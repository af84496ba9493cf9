// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package org.tensorflow.lite;
public enum DataType { FLOAT32, INT32, UINT8, INT64, STRING, BOOL, INT16, INT8 }
